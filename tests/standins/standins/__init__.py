"""Local stand-ins for DNS providers' HTTP APIs, for acmebox's provider tests.

Each vendor module (``standins/<vendor>.py``) serves only the calls DNS-01 needs, in the shapes
the vendor's published API reference documents (cited in the module's header), including the
documented error bodies for bad credentials, unknown zones and rate limits. What the stand-in
holds is written through to the test PowerDNS, so the conformance kit checks real DNS answers.

The stand-ins are checked by the vendors' own client libraries, not by acmebox's providers:
``tests/test_<vendor>.py`` points the official client (where one exists) at the stand-in and
creates, lists and deletes a TXT record through it.
"""
