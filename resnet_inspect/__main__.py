"""`python -m resnet_inspect` runs the command line."""

from resnet_inspect.cli import main

main()
