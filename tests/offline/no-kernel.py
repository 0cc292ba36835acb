"""IPython startup file of the book build in ``make test``: no kernel may start.

The tests have executed every chapter and stored the outputs where the build looks
for them; a kernel started by the build means a chapter would be executed twice
(its outputs were not stored, or no longer match its code). The kernel exits at once,
and the strict build fails on the notebook it was started for.
"""

import os
import sys

sys.stderr.write("make test: the book build started a kernel; the tests should have run it\n")
os._exit(1)
