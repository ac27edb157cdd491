"""Outbound webhooks: endpoints that other systems register to hear about events, an
outbox of deliveries written in the same transaction as the change, and the loop that
delivers them, signed, with retries for a day.

This package is a leaf: the sequences package (and anything else that changes state)
calls :func:`sequencer.webhooks.events.publish`; nothing here imports them back.
"""
