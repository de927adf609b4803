// Package check reads the deployment files with the parsers of the tools
// that run them (BuildKit's Dockerfile parser, the Compose specification's
// loader, kustomize through kubectl and Kubernetes' own types, systemd's
// analyzer), since no container engine or cluster runs where the tests do.
// It is a module of its own so that the registry's build does not carry
// those tools' dependencies; make test runs it.
package check
