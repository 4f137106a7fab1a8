// Package apiserver holds end-to-end tests against a real kube-apiserver;
// they build only with the e2e tag (see apiserver_test.go).
package apiserver
