// Package githube2e holds the end-to-end tests of pipeline/github, built
// with the e2e tag: a contract test against GitHub's published OpenAPI
// description served by Prism, and an integration test against a real
// Gitea. scripts/e2e/prism.sh and scripts/e2e/gitea.sh start the servers;
// see docs/github.md.
package githube2e
