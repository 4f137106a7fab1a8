package validate

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// kubeconfig is the part of a kubeconfig file Server understands: the
// current context's cluster (server, CA, TLS options) and user (bearer
// token, token file, client certificate, basic auth).
type kubeconfig struct {
	CurrentContext string `json:"current-context"`
	Contexts       []struct {
		Name    string `json:"name"`
		Context struct {
			Cluster   string `json:"cluster"`
			User      string `json:"user"`
			Namespace string `json:"namespace"`
		} `json:"context"`
	} `json:"contexts"`
	Clusters []struct {
		Name    string `json:"name"`
		Cluster struct {
			Server                   string `json:"server"`
			CertificateAuthority     string `json:"certificate-authority"`
			CertificateAuthorityData []byte `json:"certificate-authority-data"`
			InsecureSkipTLSVerify    bool   `json:"insecure-skip-tls-verify"`
			TLSServerName            string `json:"tls-server-name"`
		} `json:"cluster"`
	} `json:"clusters"`
	Users []struct {
		Name string `json:"name"`
		User struct {
			Token                 string `json:"token"`
			TokenFile             string `json:"tokenFile"`
			ClientCertificate     string `json:"client-certificate"`
			ClientCertificateData []byte `json:"client-certificate-data"`
			ClientKey             string `json:"client-key"`
			ClientKeyData         []byte `json:"client-key-data"`
			Username              string `json:"username"`
			Password              string `json:"password"`
			Exec                  any    `json:"exec"`
			AuthProvider          any    `json:"auth-provider"`
		} `json:"user"`
	} `json:"users"`
}

// connection is what a kubeconfig resolves to.
type connection struct {
	server    string
	namespace string
	token     string
	username  string
	password  string
	http      *http.Client
}

func loadKubeconfig(path string) (*connection, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var kc kubeconfig
	if err := yaml.Unmarshal(data, &kc); err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}

	ctxName := kc.CurrentContext
	ci := -1
	for i, c := range kc.Contexts {
		if c.Name == ctxName {
			ci = i
		}
	}
	if ci < 0 {
		return nil, fmt.Errorf("kubeconfig %s: no context %q", path, ctxName)
	}
	ctx := kc.Contexts[ci].Context
	conn := &connection{namespace: ctx.Namespace}
	if conn.namespace == "" {
		conn.namespace = "default"
	}

	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	found := false
	for _, c := range kc.Clusters {
		if c.Name != ctx.Cluster {
			continue
		}
		found = true
		conn.server = strings.TrimSuffix(c.Cluster.Server, "/")
		tlsConfig.ServerName = c.Cluster.TLSServerName
		tlsConfig.InsecureSkipVerify = c.Cluster.InsecureSkipTLSVerify //nolint:gosec // the user asked for it in the kubeconfig
		ca := c.Cluster.CertificateAuthorityData
		if len(ca) == 0 && c.Cluster.CertificateAuthority != "" {
			if ca, err = os.ReadFile(rel(c.Cluster.CertificateAuthority)); err != nil {
				return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
			}
		}
		if len(ca) > 0 {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(ca) {
				return nil, fmt.Errorf("kubeconfig %s: cluster %s: no certificate in the certificate authority", path, c.Name)
			}
			tlsConfig.RootCAs = pool
		}
	}
	if !found || conn.server == "" {
		return nil, fmt.Errorf("kubeconfig %s: context %s: no server for cluster %q", path, ctxName, ctx.Cluster)
	}

	for _, u := range kc.Users {
		if u.Name != ctx.User {
			continue
		}
		user := u.User
		if user.Exec != nil || user.AuthProvider != nil {
			return nil, fmt.Errorf("kubeconfig %s: user %s: exec and auth-provider credentials are not supported; use a token or a client certificate", path, u.Name)
		}
		conn.token, conn.username, conn.password = user.Token, user.Username, user.Password
		if conn.token == "" && user.TokenFile != "" {
			b, err := os.ReadFile(rel(user.TokenFile))
			if err != nil {
				return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
			}
			conn.token = strings.TrimSpace(string(b))
		}
		cert, key := user.ClientCertificateData, user.ClientKeyData
		if len(cert) == 0 && user.ClientCertificate != "" {
			if cert, err = os.ReadFile(rel(user.ClientCertificate)); err != nil {
				return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
			}
		}
		if len(key) == 0 && user.ClientKey != "" {
			if key, err = os.ReadFile(rel(user.ClientKey)); err != nil {
				return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
			}
		}
		if len(cert) > 0 || len(key) > 0 {
			pair, err := tls.X509KeyPair(cert, key)
			if err != nil {
				return nil, fmt.Errorf("kubeconfig %s: user %s: %w", path, u.Name, err)
			}
			tlsConfig.Certificates = []tls.Certificate{pair}
		}
	}
	if ctx.User != "" && conn.token == "" && conn.username == "" && len(tlsConfig.Certificates) == 0 {
		return nil, errors.New("kubeconfig " + path + ": user " + ctx.User + " has no credentials")
	}

	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	conn.http = &http.Client{Transport: transport, Timeout: 60 * time.Second}
	return conn, nil
}
