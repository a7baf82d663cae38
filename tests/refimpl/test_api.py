import sys
import refimpl
def test_x():
    print(refimpl.__file__, __name__, [p for p in sys.path[:3]])
    assert hasattr(refimpl, "Runtime")
