"""IPython startup file: refuse every network connection to another machine.

``make test`` copies it into the IPython profile of the kernels that execute the
notebooks (the book build, the student editions, the grader's tests), so a
notebook that tried to download anything would fail there.
"""

import pytest_socket

pytest_socket.socket_allow_hosts(["127.0.0.1", "::1", "localhost"], allow_unix_socket=True)
