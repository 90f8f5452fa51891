from marco.cli import main

raise SystemExit(main())
