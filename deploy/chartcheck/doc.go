// Package chartcheck holds the tests of Rendercast's Helm chart (deploy/helm/rendercast) and
// plain manifests (deploy/kubernetes): the chart renders with its example values through the
// helm binary, every object decodes strictly into the Kubernetes API's types (the
// ServiceMonitor into the prometheus-operator's), helm lint passes, the schema refuses bad
// values, the plain manifests are the chart's defaults, and the streamer accepts the
// configuration the chart gives it. It is a module of its own, so that the streamer's
// go.mod keeps no Kubernetes dependency.
package chartcheck
