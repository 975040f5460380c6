// Command lego5 obtains one certificate with lego v5's library, as `lego run` does with a DNS
// provider: it registers an account (agreeing to the CA's terms), solves DNS-01 for every
// domain through lego's `exec` or `httpreq` provider (configured from the environment, as
// lego's command line configures them), and writes the certificate, its issuer and its key
// under PATH/certificates/, as lego names them. Its flags are lego's; it keeps no account.
//
// LEGO_CA_CERTIFICATES names the CA certificates that the ACME server is trusted with, as for
// lego.
package main

import (
	"context"
	"crypto"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/go-acme/lego/v5/acme"
	"github.com/go-acme/lego/v5/certcrypto"
	"github.com/go-acme/lego/v5/certificate"
	"github.com/go-acme/lego/v5/challenge"
	"github.com/go-acme/lego/v5/challenge/dns01"
	"github.com/go-acme/lego/v5/lego"
	"github.com/go-acme/lego/v5/log"
	"github.com/go-acme/lego/v5/providers/dns/exec"
	"github.com/go-acme/lego/v5/providers/dns/httpreq"
	"github.com/go-acme/lego/v5/registration"
)

// list is a flag that may be given more than once.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

// account is the ACME account, registered anew on every run.
type account struct {
	email string
	key   crypto.Signer
	reg   *acme.ExtendedAccount
}

func (a *account) GetEmail() string                       { return a.email }
func (a *account) GetRegistration() *acme.ExtendedAccount { return a.reg }
func (a *account) GetPrivateKey() crypto.Signer           { return a.key }

func main() {
	var domains, resolvers list
	server := flag.String("server", lego.DirectoryURLLetsEncrypt, "the ACME directory URL")
	email := flag.String("email", "", "the account's contact address")
	acceptTOS := flag.Bool("accept-tos", false, "agree to the CA's terms of service")
	dns := flag.String("dns", "", "the DNS provider: exec or httpreq")
	path := flag.String("path", ".lego", "where the certificates are written (PATH/certificates)")
	keyType := flag.String("key-type", "ec256", "the certificate key's type")
	disableANS := flag.Bool("dns.propagation.disable-ans", false,
		"do not wait for the record at the zone's authoritative nameservers")
	flag.Var(&domains, "domains", "a domain of the certificate (repeat for more)")
	flag.Var(&domains, "d", "short for --domains")
	flag.Var(&resolvers, "dns.resolvers", "a resolver (host:port) for the propagation check (repeatable)")
	flag.Parse()

	log.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, *server, *email, *acceptTOS, *dns, *path, *keyType, *disableANS, domains, resolvers)
	if err != nil {
		fmt.Fprintf(os.Stderr, "lego5: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, server, email string, acceptTOS bool, dns, path, keyType string,
	disableANS bool, domains, resolvers []string,
) error {
	if !acceptTOS {
		return errors.New("registering an account agrees to the CA's terms of service: pass --accept-tos")
	}
	if len(domains) == 0 {
		return errors.New("no domain: pass --domains at least once")
	}
	kt, err := certcrypto.ToKeyType(keyType)
	if err != nil {
		return err
	}
	provider, err := dnsProvider(dns)
	if err != nil {
		return err
	}

	accountKey, err := certcrypto.GeneratePrivateKey(certcrypto.EC256)
	if err != nil {
		return err
	}
	user := &account{email: email, key: accountKey}
	config := lego.NewConfig(user)
	config.CADirURL = server
	client, err := lego.NewClient(config)
	if err != nil {
		return err
	}
	user.reg, err = client.Registration.Register(ctx, registration.RegisterOptions{TermsOfServiceAgreed: true})
	if err != nil {
		return fmt.Errorf("registering the account: %w", err)
	}

	options := dns01.NewOptions()
	options.RecursiveNameservers = resolvers
	dns01.SetDefaultClient(dns01.NewClient(options))
	var challengeOptions []dns01.ChallengeOption
	if disableANS {
		challengeOptions = append(challengeOptions, dns01.DisableAuthoritativeNssPropagationRequirement())
	}
	err = client.Challenge.SetDNS01Provider(provider, challengeOptions...)
	if err != nil {
		return err
	}

	cert, err := client.Certificate.Obtain(ctx, certificate.ObtainRequest{Domains: domains, KeyType: kt, Bundle: true})
	if err != nil {
		return fmt.Errorf("obtaining the certificate: %w", err)
	}
	return save(filepath.Join(path, "certificates"), domains[0], cert)
}

// dnsProvider is lego's provider `name`, configured from the environment.
func dnsProvider(name string) (challenge.Provider, error) {
	switch name {
	case "exec":
		return exec.NewDNSProvider()
	case "httpreq":
		return httpreq.NewDNSProvider()
	default:
		return nil, fmt.Errorf("--dns %q: this program knows only exec and httpreq", name)
	}
}

// save writes NAME.crt, NAME.issuer.crt and NAME.key (0600) into dir, named after the
// certificate's first domain as lego names them.
func save(dir, domain string, cert *certificate.Resource) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	name := strings.NewReplacer(":", "-", "*", "_").Replace(domain)
	files := []struct {
		ext  string
		data []byte
		mode os.FileMode
	}{
		{".crt", cert.Certificate, 0o644},
		{".issuer.crt", cert.IssuerCertificate, 0o644},
		{".key", cert.PrivateKey, 0o600},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, name+f.ext), f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}
