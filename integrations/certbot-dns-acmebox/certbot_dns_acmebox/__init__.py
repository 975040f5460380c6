"""certbot DNS authenticator backed by acmebox: each DNS-01 record is published by a DNS
provider running as a sandboxed WebAssembly component (`acmebox certbot-hook`)."""
