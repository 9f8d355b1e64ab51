"""Fixtures shared by the tests of the cldyn package."""
import threading
import time

import pytest


@pytest.fixture
def ticks_during():
    """measure(call, settle=0.05) -> (elapsed, ticks): runs call() on a worker thread and counts
    how often this thread runs a loop meanwhile, from `settle` seconds after the start (time for
    the worker to enter the C++ call) until the call returns. A call that holds the GIL leaves
    the loop no chance to run until it returns."""

    def measure(call, settle=0.05):
        done = threading.Event()

        def work():
            call()
            done.set()

        t = threading.Thread(target=work)
        t.start()
        time.sleep(settle)
        ticks, start = 0, time.perf_counter()
        while not done.is_set():
            ticks += 1
        elapsed = time.perf_counter() - start
        t.join()
        return elapsed, ticks

    return measure
