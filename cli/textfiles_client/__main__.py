from textfiles_client.cli import main

raise SystemExit(main())
