import sys

from hashlens.cli.kept import answer_kept

# A kept answer is printed before the command line (Typer, numpy, the store) is even loaded.
if not answer_kept(sys.argv[1:]):
    from hashlens.cli.app import main

    main()
