from hashlens.cli.app import main

main()
