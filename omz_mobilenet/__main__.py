from omz_mobilenet.cli import main

raise SystemExit(main())
