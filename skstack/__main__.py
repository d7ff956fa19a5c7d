import sys

from skstack._cli import main

sys.exit(main())
