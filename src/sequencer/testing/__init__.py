"""Public test helpers: fakes for unit tests of pure logic, each tested itself."""

from sequencer.testing.capture import Captured, CaptureProvider
from sequencer.testing.clock import FakeClock
from sequencer.testing.generator import ScriptedGenerator

__all__ = ["CaptureProvider", "Captured", "FakeClock", "ScriptedGenerator"]
