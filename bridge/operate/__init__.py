"""What an operator sees and does, one function each, called alike by the console, the API and the CLI."""
