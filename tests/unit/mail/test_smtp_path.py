"""The MAIL FROM / RCPT TO path is what smtplib's own quoting writes, for any address."""

import smtplib
import string

from hypothesis import example, given
from hypothesis import strategies as st

from sequencer.mail.providers.smtp_imap.smtp import smtp_path

ATEXT = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
atoms = st.text(ATEXT, min_size=1, max_size=12)
dot_atoms = st.lists(atoms, min_size=1, max_size=4).map(".".join)
plain_addresses = st.builds(lambda local, domain: f"{local}@{domain}", dot_atoms, dot_atoms)


@given(plain_addresses)
@example("ada@example.test")
@example("o'brien+sales@mail.example.test")
def test_a_plain_address_gets_the_path_smtplib_would_write(address):
    assert smtp_path(address) == smtplib.quoteaddr(address) == f"<{address}>"


@given(st.text(max_size=40))
@example("Ada <ada@example.test>")
@example("a..b@example.test")
@example('"quoted local"@example.test')
@example("ada@example.test\r\nRCPT TO:<eve@evil.test>")
@example("élodie@exemple.test")
@example("")
def test_any_other_text_gets_exactly_the_path_smtplib_would_write(text):
    assert smtp_path(text) == smtplib.quoteaddr(text)
