# Sourced by the bench scripts: writes DIR/acmebox.toml with the PowerDNS provider COMPONENT as
# `pdns` against the test PowerDNS (its API key in DIR/key, read as a secret file), its cache
# and journal under DIR. Needs the environment of `scripts/servers.sh env`.
#
#   write_pdns_config DIR COMPONENT
write_pdns_config() {
    local dir=$1 component=$2 origin=${ACMEBOX_PDNS_API_URL%%/api/*}
    printf '%s' "$ACMEBOX_PDNS_API_KEY" >"$dir/key"
    cat >"$dir/acmebox.toml" <<TOML
cache_dir = "cache"
state_dir = "state"

[providers.pdns]
component = "$component"
allow = ["danger:$origin"]
ttl = 60

[providers.pdns.config]
api_url = "$origin"
api_key = { file = "key", secret = true }
TOML
}
