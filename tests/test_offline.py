"""The tests run offline: a download attempt fails, in this process and in a kernel."""

import socket
import urllib.request

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient
from pytest_socket import SocketConnectBlockedError

UNREACHABLE = ("192.0.2.1", 80)  # TEST-NET-1: never a real host


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_a_connection_to_another_machine_is_refused_in_the_tests():
    with pytest.raises(SocketConnectBlockedError):
        socket.create_connection(UNREACHABLE, timeout=1)
    with pytest.raises(SocketConnectBlockedError):
        urllib.request.urlopen("http://192.0.2.1/", timeout=1)


@pytest.mark.integration
def test_a_connection_to_another_machine_is_refused_in_a_kernel(tmp_path):
    notebook = jupytext.reads(
        "import socket\nsocket.create_connection(('192.0.2.1', 80), timeout=1)\n",
        fmt="py:percent",
    )
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    client = NotebookClient(
        notebook, timeout=60, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    errors = [o["ename"] for o in outputs if o["output_type"] == "error"]
    assert errors == ["SocketConnectBlockedError"], nbformat.writes(notebook)[-2000:]


def test_the_data_sets_load_offline():
    from coursepkg.data import load_digits_split

    split = load_digits_split(seed=0)
    assert len(split.x_train) > 0
