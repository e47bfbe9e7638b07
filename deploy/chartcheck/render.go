package chartcheck

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// HelmVersion is the Helm release scripts/setup.sh builds.
const HelmVersion = "v3.21.4"

// ErrNoHelm is returned by FindHelm when no helm binary is found.
var ErrNoHelm = errors.New("helm not found: run scripts/setup.sh (it builds helm " + HelmVersion + " into ~/.cache/rendercast/bin), or set RENDERCAST_HELM")

// FindHelm returns the helm binary: $RENDERCAST_HELM, the set-up script's
// ~/.cache/rendercast/bin/helm, $(go env GOPATH)/bin/helm, else helm on PATH.
func FindHelm() (string, error) {
	var candidates []string
	if p := os.Getenv("RENDERCAST_HELM"); p != "" {
		candidates = append(candidates, p)
	}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".cache", "rendercast", "bin", "helm"))
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			candidates = append(candidates, filepath.Join(dir, "bin", "helm"))
		}
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return c, nil
		}
	}
	if p, err := exec.LookPath("helm"); err == nil {
		return p, nil
	}
	return "", ErrNoHelm
}

// Render runs helm template for the chart as release name, with values files and --set
// values, and returns the manifests; helm's message is the error when it refuses.
func Render(helm, chart, release string, valueFiles []string, sets ...string) (string, error) {
	args := []string{"template", release, chart}
	for _, f := range valueFiles {
		args = append(args, "-f", f)
	}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(helm, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Documents splits a YAML stream into its documents, leaving out empty ones (only
// comments or blanks).
func Documents(stream string) []string {
	var docs []string
	for _, d := range strings.Split("\n"+stream, "\n---") {
		empty := true
		for _, line := range strings.Split(d, "\n") {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
				empty = false
				break
			}
		}
		if !empty {
			docs = append(docs, strings.TrimPrefix(d, "\n"))
		}
	}
	return docs
}

// Objects are a rendering's objects, decoded into their API types.
type Objects struct {
	Deployments     []*appsv1.Deployment
	Services        []*corev1.Service
	ConfigMaps      []*corev1.ConfigMap
	Secrets         []*corev1.Secret
	PDBs            []*policyv1.PodDisruptionBudget
	HPAs            []*autoscalingv2.HorizontalPodAutoscaler
	ServiceMonitors []*monitoringv1.ServiceMonitor
}

// Kinds lists the kind of every object, grouped by kind.
func (o *Objects) Kinds() []string {
	var k []string
	for range o.Deployments {
		k = append(k, "Deployment")
	}
	for range o.Services {
		k = append(k, "Service")
	}
	for range o.ConfigMaps {
		k = append(k, "ConfigMap")
	}
	for range o.Secrets {
		k = append(k, "Secret")
	}
	for range o.PDBs {
		k = append(k, "PodDisruptionBudget")
	}
	for range o.HPAs {
		k = append(k, "HorizontalPodAutoscaler")
	}
	for range o.ServiceMonitors {
		k = append(k, "ServiceMonitor")
	}
	return k
}

// decodeStrict decodes a YAML document as the API server does, strictly: field names are
// matched case-sensitively, and an unknown or duplicate field is an error.
func decodeStrict(doc string, target any) error {
	j, err := yaml.YAMLToJSONStrict([]byte(doc))
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, target)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

// name returns a document's metadata.name, for messages.
func name(doc string) string {
	var m struct {
		Metadata struct{ Name string } `json:"metadata"`
	}
	yaml.Unmarshal([]byte(doc), &m)
	return m.Metadata.Name
}

// Decode decodes every document strictly into the type of its apiVersion and kind: an
// unknown field, a duplicate field, a value of the wrong type or an unknown kind is an
// error naming the document.
func Decode(stream string) (*Objects, error) {
	o := &Objects{}
	for i, doc := range Documents(stream) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		var target any
		switch tm.APIVersion + " " + tm.Kind {
		case "apps/v1 Deployment":
			v := &appsv1.Deployment{}
			o.Deployments, target = append(o.Deployments, v), v
		case "v1 Service":
			v := &corev1.Service{}
			o.Services, target = append(o.Services, v), v
		case "v1 ConfigMap":
			v := &corev1.ConfigMap{}
			o.ConfigMaps, target = append(o.ConfigMaps, v), v
		case "v1 Secret":
			v := &corev1.Secret{}
			o.Secrets, target = append(o.Secrets, v), v
		case "policy/v1 PodDisruptionBudget":
			v := &policyv1.PodDisruptionBudget{}
			o.PDBs, target = append(o.PDBs, v), v
		case "autoscaling/v2 HorizontalPodAutoscaler":
			v := &autoscalingv2.HorizontalPodAutoscaler{}
			o.HPAs, target = append(o.HPAs, v), v
		case "monitoring.coreos.com/v1 ServiceMonitor":
			v := &monitoringv1.ServiceMonitor{}
			o.ServiceMonitors, target = append(o.ServiceMonitors, v), v
		default:
			return nil, fmt.Errorf("document %d: unexpected kind %q of %q", i, tm.Kind, tm.APIVersion)
		}
		if err := decodeStrict(doc, target); err != nil {
			return nil, fmt.Errorf("document %d (%s %s): %w", i, tm.Kind, name(doc), err)
		}
	}
	return o, nil
}
