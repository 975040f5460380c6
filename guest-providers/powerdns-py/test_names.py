"""Table tests for names.py, run with the host's Python: `python3 -m unittest`."""

import unittest

from names import encode, longest_zone, origin, quote, unquote


class NamesTest(unittest.TestCase):
    def test_origins(self):
        cases = [
            ("http://127.0.0.1:8081", "http://127.0.0.1:8081"),
            ("http://127.0.0.1:8081/", "http://127.0.0.1:8081"),
            ("HTTPS://DNS.example.com/x?y", "https://dns.example.com"),
            ("ftp://example.com", None),
            ("example.com", None),
            ("https://u:p@example.com", None),
        ]
        for url, want in cases:
            self.assertEqual(origin(url), want, url)

    def test_longest_zone_wins_on_label_boundaries(self):
        zones = ["example.test.", "sub.example.test.", "ample.test.", "other.test"]
        cases = [
            ("_acme-challenge.example.test.", "example.test."),
            ("_acme-challenge.a.sub.example.test", "sub.example.test."),
            ("_acme-challenge.SUB.Example.Test.", "sub.example.test."),
            ("_acme-challenge.other.test.", "other.test."),
            ("_acme-challenge.nexample.test.", None),
            ("_acme-challenge.example.com.", None),
        ]
        for fqdn, want in cases:
            self.assertEqual(longest_zone(fqdn, zones), want, fqdn)

    def test_txt_content_round_trips(self):
        cases = [
            (
                "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0",
                '"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"',
            ),
            ('a"b\\c', '"a\\"b\\\\c"'),
        ]
        for value, content in cases:
            self.assertEqual(quote(value), content)
            self.assertEqual(unquote(content), value)
        self.assertEqual(unquote('"ab" "cd"'), "abcd")
        self.assertEqual(unquote("bare"), "bare")

    def test_encodes_names(self):
        self.assertEqual(encode("_acme-challenge.example.test."), "_acme-challenge.example.test.")
        self.assertEqual(encode("a b/c?d"), "a%20b%2Fc%3Fd")
        self.assertEqual(encode("*.x"), "*.x")


if __name__ == "__main__":
    unittest.main()
