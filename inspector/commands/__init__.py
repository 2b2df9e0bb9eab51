"""One module per `h2inspect` subcommand; each turns parsed arguments into an exit status."""
