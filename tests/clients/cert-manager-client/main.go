// Command cert-manager-client talks to a DNS-01 webhook solver the way cert-manager and the
// Kubernetes API aggregator in front of it do, with cert-manager's own code and types, so a
// test can check a solver without a cluster.
//
// With -discover it reads the discovery documents the aggregator and kubectl read (/apis,
// /apis/GROUP, /apis/GROUP/v1alpha1), decodes them as the aggregator does (apimachinery's
// universal decoder into metav1.APIGroupList, APIGroup and APIResourceList) and checks that
// the group serves v1alpha1 with the solver as a cluster-scoped resource that takes `create`.
//
// With -action present or cleanup it builds the ChallengeRequest as cert-manager's DNS-01
// solver does (pkg/issuer/acme/dns/dns.go) and hands it to cert-manager's own webhook client
// (pkg/issuer/acme/dns/webhook, Webhook.Present and Webhook.CleanUp), which POSTs a
// ChallengePayload to /apis/GROUP/v1alpha1/SOLVER. The answer it received is decoded into
// cert-manager's v1alpha1.ChallengePayload and checked: the request's uid is echoed, success
// agrees with what cert-manager concluded, and a failure carries a status with a message.
// -expect-failure turns the check around: the call must fail, and its message is printed.
//
// The server is trusted with the CA certificates in -ca only.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"

	whapi "github.com/cert-manager/cert-manager/pkg/acme/webhook/apis/acme/v1alpha1"
	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmwebhook "github.com/cert-manager/cert-manager/pkg/issuer/acme/dns/webhook"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

// The Accept header the aggregator sends first for /apis (aggregated discovery); a server
// that answers plain JSON is read through the per-version documents instead.
const aggregatedAccept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList," +
	"application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"

func main() {
	server := flag.String("server", "", "the solver's origin, https://host:port")
	caFile := flag.String("ca", "", "PEM CA certificates the server is trusted with")
	group := flag.String("group", "", "the solver's API group (the Issuer's groupName)")
	solver := flag.String("solver", "", "the solver's name (the Issuer's solverName)")
	discover := flag.Bool("discover", false, "read and check the discovery documents")
	action := flag.String("action", "", "present or cleanup")
	fqdn := flag.String("fqdn", "", "the record name after CNAMEs (resolvedFQDN)")
	zone := flag.String("zone", "", "the zone of -fqdn (resolvedZone)")
	dnsName := flag.String("dns-name", "", "the name being validated (dnsName)")
	key := flag.String("key", "", "the DNS-01 TXT value (key)")
	uid := flag.String("uid", "", "the request's uid")
	expectFailure := flag.Bool("expect-failure", false, "the call must fail")
	flag.Parse()
	if *server == "" || *caFile == "" || *group == "" || *solver == "" {
		fail("-server, -ca, -group and -solver are required")
	}
	config := &rest.Config{
		Host:            *server,
		TLSClientConfig: rest.TLSClientConfig{CAFile: *caFile},
	}
	if *discover {
		if err := checkDiscovery(config, *group, *solver); err != nil {
			fail("discovery: %v", err)
		}
		fmt.Println("discovery ok")
	}
	if *action == "" {
		return
	}
	request := &whapi.ChallengeRequest{
		UID:          types.UID(*uid),
		Type:         "dns-01",
		DNSName:      *dnsName,
		Key:          *key,
		ResolvedFQDN: *fqdn,
		ResolvedZone: *zone,
		Config:       solverConfig(*group, *solver),
	}
	message, err := call(config, *action, request, *expectFailure)
	if err != nil {
		fail("%s: %v", *action, err)
	}
	if *expectFailure {
		fmt.Printf("%s failed as expected: %s\n", *action, message)
	} else {
		fmt.Printf("%s ok\n", *action)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "cert-manager-client: "+format+"\n", args...)
	os.Exit(1)
}

// solverConfig is the Issuer's webhook stanza as cert-manager passes it to its webhook
// client, which takes groupName and solverName from it.
func solverConfig(group, solver string) *apiextensionsv1.JSON {
	raw, err := json.Marshal(cmacme.ACMEIssuerDNS01ProviderWebhook{
		GroupName:  group,
		SolverName: solver,
		Config:     &apiextensionsv1.JSON{Raw: []byte(`{}`)},
	})
	if err != nil {
		fail("encoding the solver config: %v", err)
	}
	return &apiextensionsv1.JSON{Raw: raw}
}

// call runs cert-manager's webhook client for action and checks the answer it got; it
// returns the failure message when the call failed as expected.
func call(config *rest.Config, action string, request *whapi.ChallengeRequest, expectFailure bool) (string, error) {
	var tap exchange
	config = rest.CopyConfig(config)
	config.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return &tappedTransport{next: rt, tap: &tap}
	}
	client := &cmwebhook.Webhook{}
	if err := client.Initialize(config, nil); err != nil {
		return "", fmt.Errorf("initializing cert-manager's webhook client: %w", err)
	}
	var callErr error
	switch action {
	case "present":
		callErr = client.Present(request)
	case "cleanup":
		callErr = client.CleanUp(request)
	default:
		return "", fmt.Errorf("unknown action %q: use present or cleanup", action)
	}
	method, path, status, body := tap.last()
	if method == "" {
		return "", fmt.Errorf("no request was sent (cert-manager said: %v)", callErr)
	}
	group, solver := configNames(request)
	wantPath := "/apis/" + group + "/v1alpha1/" + solver
	if method != http.MethodPost || path != wantPath {
		return "", fmt.Errorf("cert-manager sent %s %s, expected POST %s", method, path, wantPath)
	}
	var answer whapi.ChallengePayload
	if err := json.Unmarshal(body, &answer); err != nil {
		return "", fmt.Errorf("the answer (status %d) is not a ChallengePayload: %v: %s", status, err, body)
	}
	if answer.Response == nil {
		return "", fmt.Errorf("the answer (status %d) has no response: %s", status, body)
	}
	response := answer.Response
	if response.UID != request.UID {
		return "", fmt.Errorf("the answer's uid is %q, the request's %q", response.UID, request.UID)
	}
	if response.Success != (callErr == nil) {
		return "", fmt.Errorf("success is %v but cert-manager concluded %v: %s", response.Success, callErr, body)
	}
	switch {
	case expectFailure && callErr == nil:
		return "", fmt.Errorf("the call succeeded (status %d): %s", status, body)
	case !expectFailure && callErr != nil:
		return "", fmt.Errorf("cert-manager's webhook client failed: %v (answer %d: %s)", callErr, status, body)
	case expectFailure:
		if response.Result == nil || response.Result.Message == "" {
			return "", fmt.Errorf("a failure without a status message: %s", body)
		}
		if response.Result.Message != callErr.Error() {
			return "", fmt.Errorf("cert-manager reported %q, the status says %q", callErr, response.Result.Message)
		}
		return response.Result.Message, nil
	}
	return "", nil
}

// configNames reads groupName and solverName back from the request's config.
func configNames(request *whapi.ChallengeRequest) (string, string) {
	var cfg cmacme.ACMEIssuerDNS01ProviderWebhook
	if err := json.Unmarshal(request.Config.Raw, &cfg); err != nil {
		fail("decoding the solver config: %v", err)
	}
	return cfg.GroupName, cfg.SolverName
}

// exchange is the last request line and answer a tappedTransport saw.
type exchange struct {
	mu     sync.Mutex
	method string
	path   string
	status int
	body   []byte
}

func (e *exchange) last() (string, string, int, []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.method, e.path, e.status, e.body
}

// tappedTransport keeps a copy of every answer's body for the checks.
type tappedTransport struct {
	next http.RoundTripper
	tap  *exchange
}

func (t *tappedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	t.tap.mu.Lock()
	t.tap.method, t.tap.path, t.tap.status, t.tap.body = req.Method, req.URL.Path, resp.StatusCode, body
	t.tap.mu.Unlock()
	return resp, nil
}

// checkDiscovery reads the three discovery documents and checks that they list the solver.
func checkDiscovery(config *rest.Config, group, solver string) error {
	httpClient, err := rest.HTTPClientFor(config)
	if err != nil {
		return err
	}
	// The scheme the aggregator decodes discovery with: meta/v1's unversioned kinds.
	scheme := runtime.NewScheme()
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	decoder := serializer.NewCodecFactory(scheme).UniversalDecoder()
	get := func(path, accept string, into runtime.Object) error {
		req, err := http.NewRequest(http.MethodGet, config.Host+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", accept)
		resp, err := httpClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: status %d: %s", path, resp.StatusCode, body)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || strings.Contains(ct, "apidiscovery") {
			return fmt.Errorf("GET %s: content type %q, expected plain application/json", path, ct)
		}
		if err := runtime.DecodeInto(decoder, body, into); err != nil {
			return fmt.Errorf("GET %s: %v: %s", path, err, body)
		}
		return nil
	}
	version := whapi.SchemeGroupVersion.Version
	groupVersion := group + "/" + version
	checkGroup := func(g metav1.APIGroup) error {
		want := metav1.GroupVersionForDiscovery{GroupVersion: groupVersion, Version: version}
		if g.PreferredVersion != want || !slices.Contains(g.Versions, want) {
			return fmt.Errorf("group %s lists versions %v, preferred %v; expected %v", g.Name, g.Versions, g.PreferredVersion, want)
		}
		return nil
	}

	var groups metav1.APIGroupList
	if err := get("/apis", aggregatedAccept+",application/json", &groups); err != nil {
		return err
	}
	index := slices.IndexFunc(groups.Groups, func(g metav1.APIGroup) bool { return g.Name == group })
	if index < 0 {
		return fmt.Errorf("/apis does not list the group %s: %+v", group, groups.Groups)
	}
	if err := checkGroup(groups.Groups[index]); err != nil {
		return err
	}

	var apiGroup metav1.APIGroup
	if err := get("/apis/"+group, "application/json", &apiGroup); err != nil {
		return err
	}
	if apiGroup.Name != group {
		return fmt.Errorf("/apis/%s names the group %q", group, apiGroup.Name)
	}
	if err := checkGroup(apiGroup); err != nil {
		return err
	}

	var resources metav1.APIResourceList
	if err := get("/apis/"+groupVersion, "application/json", &resources); err != nil {
		return err
	}
	if resources.GroupVersion != groupVersion {
		return fmt.Errorf("the resource list is for %q, expected %q", resources.GroupVersion, groupVersion)
	}
	var names []string
	var found *metav1.APIResource
	for i, r := range resources.APIResources {
		names = append(names, r.Name)
		if r.Name == solver {
			found = &resources.APIResources[i]
		}
	}
	if found == nil {
		return fmt.Errorf("the solver %q is not among the resources %v", solver, names)
	}
	if found.Namespaced || found.Kind != "ChallengePayload" || !slices.Contains(found.Verbs, "create") {
		return fmt.Errorf("the solver resource is %+v; expected cluster-scoped, kind ChallengePayload, verb create", *found)
	}
	fmt.Printf("solvers: %s\n", strings.Join(names, ","))
	return nil
}
