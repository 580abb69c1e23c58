from tradematch.cli import main

main()
