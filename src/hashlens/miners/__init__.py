"""Listed miners: monthly reports, expected versus reported production, treasuries, ranks."""
