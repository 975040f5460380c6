// Caddy with the caddy-dns/acmeproxy DNS provider: the Caddy the integration tests run against
// `acmebox serve` (tests/tests/integration/caddy.rs). Built by scripts/deps.sh into
// target/go-bin/caddy, its modules pinned by go.mod and go.sum.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// The modules of a stock Caddy build, and the DNS provider under test.
	_ "github.com/caddy-dns/acmeproxy"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func main() {
	caddycmd.Main()
}
