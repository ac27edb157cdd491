"""Public test helpers: fakes for unit tests of pure logic, each tested itself."""

from sequencer.testing.clock import FakeClock

__all__ = ["FakeClock"]
