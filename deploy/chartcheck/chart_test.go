package chartcheck

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
)

var update = flag.Bool("update", false, "write deploy/kubernetes/rendercast.yaml from the chart's defaults")

const release = "rendercast"

var (
	root  = filepath.Join("..", "..")
	chart = filepath.Join(root, "deploy", "helm", "rendercast")
	plain = filepath.Join(root, "deploy", "kubernetes", "rendercast.yaml")
)

// variants are the values the chart is rendered with: its defaults (an NVIDIA GPU per
// pod) and the example values files.
var variants = []struct {
	name   string
	values []string
	check  func(t *testing.T, o *Objects)
}{
	{"default", nil, checkDefault},
	{"gpu", []string{"deploy/helm/values/gpu.yaml"}, checkGPU},
	{"cpu", []string{"deploy/helm/values/cpu.yaml"}, checkCPU},
	{"hpa", []string{"deploy/helm/values/hpa.yaml"}, checkHPA},
}

func helm(t *testing.T) string {
	t.Helper()
	h, err := FindHelm()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func valuePaths(files []string) []string {
	var out []string
	for _, f := range files {
		out = append(out, filepath.Join(root, f))
	}
	return out
}

func render(t *testing.T, files []string, sets ...string) (string, *Objects) {
	t.Helper()
	out, err := Render(helm(t), chart, release, valuePaths(files), sets...)
	if err != nil {
		t.Fatal(err)
	}
	o, err := Decode(out)
	if err != nil {
		t.Fatalf("strict decoding: %v", err)
	}
	return out, o
}

// Every variant renders, every object decodes strictly into its API type (the
// ServiceMonitor into the prometheus-operator's), and each says what its values ask.
func TestChartRendersEveryVariant(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			_, o := render(t, v.values)
			if len(o.Deployments) != 1 || len(o.Services) != 1 || len(o.ConfigMaps) != 1 {
				t.Fatalf("objects %v, want one Deployment, Service and ConfigMap", o.Kinds())
			}
			checkCommon(t, o)
			v.check(t, o)
		})
	}
}

// Strict decoding fails on a field the API does not have, so the checks above mean
// something.
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	for _, doc := range []string{
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports: [{port: 1, protocl: TCP}]\n",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replica: 2}\n",
		"apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: x}\nspec:\n  endpoints: [{port: http, intervall: 10s}]\n",
		"apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports: [{port: 1, targetport: 2}]\n", // case matters
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\ndata: {c: d}\n",               // duplicate
	} {
		if _, err := Decode(doc); err == nil {
			t.Errorf("decoded without an error:\n%s", doc)
		}
	}
}

func TestHelmLint(t *testing.T) {
	for _, v := range variants {
		args := []string{"lint", "--strict", chart}
		for _, f := range valuePaths(v.values) {
			args = append(args, "-f", f)
		}
		out, err := exec.Command(helm(t), args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "0 chart(s) failed") {
			t.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// values.schema.json refuses bad values before anything renders, naming the value and why.
func TestSchemaRefusesBadValues(t *testing.T) {
	for _, c := range []struct {
		set  string
		want []string
	}{
		{"drain.timeoutSeconds=0", []string{"/drain/timeoutSeconds", "minimum: got 0, want 1"}},
		{"drain.waitSeconds=61", []string{"/drain/waitSeconds", "maximum: got 61, want 60"}},
		{"webrtc.udpPort=80", []string{"/webrtc/udpPort", "minimum"}},
		{"gpu.count=0", []string{"/gpu/count", "minimum"}},
		{"replicas=3", []string{"additional properties 'replicas' not allowed"}},
		{"service.type=Ingress", []string{"/service/type", "Ingress"}},
		{"tls.enabled=true", []string{"/tls/secretName", "minLength"}},
		{"config.listen=:1936", []string{"invalid propertyName 'listen'"}},
		{"webrtc.publicIP=not-an-ip", []string{"/webrtc/publicIP"}},
	} {
		_, err := Render(helm(t), chart, release, nil, c.set)
		if err == nil {
			t.Errorf("--set %s rendered", c.set)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("--set %s: %v\nwant %q in the message", c.set, err, w)
			}
		}
	}
}

// deploy/kubernetes/rendercast.yaml is what the chart renders with its defaults
// (go test -run PlainManifests -update writes it).
func TestPlainManifestsAreTheDefaults(t *testing.T) {
	out, _ := render(t, nil)
	if *update {
		if err := os.WriteFile(plain, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != out {
		t.Fatalf("%s differs from the chart's defaults: regenerate it (cd deploy/chartcheck && go test -run PlainManifests -update)", plain)
	}
}

// The streamer accepts the configuration each variant gives it: the image's environment,
// the container's, and the ConfigMap's file (streamer check reads them as serving does).
// A setting the streamer does not know is refused, so the check can fail.
func TestStreamerAcceptsTheConfiguration(t *testing.T) {
	bin := buildStreamer(t)
	imageEnv := dockerfileEnv(t)
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			_, o := render(t, v.values)
			out, err := streamerCheck(t, bin, imageEnv, o)
			if err != nil {
				t.Fatalf("streamer check: %v\n%s", err, out)
			}
		})
	}
	_, o := render(t, nil, "config.max-viewerz=3")
	if out, err := streamerCheck(t, bin, imageEnv, o); err == nil || !strings.Contains(out, `unknown setting "max-viewerz"`) {
		t.Errorf("a ConfigMap with max-viewerz: %v %q, want the streamer to refuse it", err, out)
	}
	_, o = render(t, nil, "config.size=1281x720")
	if out, err := streamerCheck(t, bin, imageEnv, o); err == nil || !strings.Contains(out, "1281x720") {
		t.Errorf("a ConfigMap with an odd size: %v %q, want the streamer to refuse it", err, out)
	}
}

// buildStreamer builds the streamer (the root module) for streamer check.
func buildStreamer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "streamer")
	cmd := exec.Command("go", "build", "-tags", "egl", "-o", bin, "./cmd/streamer")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the streamer: %v\n%s", err, out)
	}
	return bin
}

// dockerfileEnv returns the ENV settings of docker/Dockerfile's final stage.
func dockerfileEnv(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "docker", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "FROM ") {
			env = nil // only the last stage's
		}
		if strings.HasPrefix(line, "ENV ") {
			in, line = true, strings.TrimPrefix(line, "ENV ")
		}
		if !in {
			continue
		}
		cont := strings.HasSuffix(line, "\\")
		for _, f := range strings.Fields(strings.TrimSuffix(line, "\\")) {
			if strings.Contains(f, "=") {
				env = append(env, f)
			}
		}
		in = cont
	}
	if !slices.ContainsFunc(env, func(s string) bool { return strings.HasPrefix(s, "STREAMER_") }) {
		t.Fatalf("no STREAMER_ settings found in docker/Dockerfile's ENV: %v", env)
	}
	return env
}

// streamerCheck runs streamer check with the environment a pod of the rendering would
// have: the image's, overridden by the container's (downward API and Secret values made
// up), with the ConfigMap's file where the container reads it.
func streamerCheck(t *testing.T, bin string, imageEnv []string, o *Objects) (string, error) {
	t.Helper()
	c := container(t, o.Deployments[0])
	cfgPath := envValue(t, c, "STREAMER_CONFIG")
	mount := mountFor(t, o.Deployments[0], c, cfgPath)
	if mount.vol.ConfigMap == nil || mount.vol.ConfigMap.Name != o.ConfigMaps[0].Name {
		t.Fatalf("STREAMER_CONFIG %s is on volume %+v, want the ConfigMap %s", cfgPath, mount.vol, o.ConfigMaps[0].Name)
	}
	data, ok := o.ConfigMaps[0].Data[mount.mount.SubPath]
	if !ok {
		t.Fatalf("ConfigMap %s has no key %q (the mount's subPath)", o.ConfigMaps[0].Name, mount.mount.SubPath)
	}
	file := filepath.Join(t.TempDir(), "streamer.yaml")
	if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append([]string{"PATH=" + os.Getenv("PATH")}, imageEnv...)
	for _, e := range c.Env {
		v := e.Value
		switch {
		case e.Name == "STREAMER_CONFIG":
			v = file
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil:
			v = "10.1.2.3" // status.hostIP
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			v = "a-secret"
		}
		env = append(env, e.Name+"="+v)
	}
	cmd := exec.Command(bin, append([]string{"check"}, c.Args...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func container(t *testing.T, d *appsv1.Deployment) *corev1.Container {
	t.Helper()
	if n := len(d.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("%d containers, want the streamer alone", n)
	}
	return &d.Spec.Template.Spec.Containers[0]
}

func envVar(c *corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

func envValue(t *testing.T, c *corev1.Container, name string) string {
	t.Helper()
	e := envVar(c, name)
	if e == nil {
		t.Fatalf("container has no %s", name)
	}
	return e.Value
}

type mounted struct {
	mount corev1.VolumeMount
	vol   corev1.Volume
}

// mountFor returns the mount holding path and its volume.
func mountFor(t *testing.T, d *appsv1.Deployment, c *corev1.Container, path string) mounted {
	t.Helper()
	for _, m := range c.VolumeMounts {
		if path == m.MountPath || strings.HasPrefix(path, m.MountPath+"/") {
			for _, v := range d.Spec.Template.Spec.Volumes {
				if v.Name == m.Name {
					return mounted{m, v}
				}
			}
			t.Fatalf("mount %s names no volume", m.Name)
		}
	}
	t.Fatalf("no volume mounted at %s", path)
	return mounted{}
}

func port(c *corev1.Container, name string) *corev1.ContainerPort {
	for i := range c.Ports {
		if c.Ports[i].Name == name {
			return &c.Ports[i]
		}
	}
	return nil
}

func seconds(t *testing.T, c *corev1.Container, name string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(envValue(t, c, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

// checkCommon: what every variant must have. The Service and the budget select the pods;
// ports, probes, the one UDP port, the drain and the grace period fit together.
func checkCommon(t *testing.T, o *Objects) {
	t.Helper()
	d := o.Deployments[0]
	pod := d.Spec.Template
	c := container(t, d)
	podLabels := labels.Set(pod.Labels)
	if sel, err := metavLabelSelector(d); err != nil || !sel.Matches(podLabels) {
		t.Errorf("the Deployment's selector does not select its pods (%v)", err)
	}
	svc := o.Services[0]
	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, pod.Labels)
	}
	for _, p := range svc.Spec.Ports {
		cp := port(c, p.TargetPort.String())
		if cp == nil || cp.Protocol != p.Protocol {
			t.Errorf("Service port %s targets %q, which the container does not have", p.Name, p.TargetPort.String())
		}
	}
	for _, name := range []string{"rtmp", "http"} {
		if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == name }) {
			t.Errorf("the Service has no %s port", name)
		}
	}
	if got := envValue(t, c, "STREAMER_LISTEN"); got != fmt.Sprintf(":%d", port(c, "rtmp").ContainerPort) {
		t.Errorf("STREAMER_LISTEN %q, the container's rtmp port %d", got, port(c, "rtmp").ContainerPort)
	}
	if got := envValue(t, c, "STREAMER_HTTP"); got != fmt.Sprintf(":%d", port(c, "http").ContainerPort) {
		t.Errorf("STREAMER_HTTP %q, the container's http port %d", got, port(c, "http").ContainerPort)
	}
	// WebRTC: one UDP port, published on the node's address.
	udp := port(c, "webrtc")
	if udp == nil || udp.Protocol != corev1.ProtocolUDP || udp.HostPort != udp.ContainerPort ||
		strconv.Itoa(int(udp.ContainerPort)) != envValue(t, c, "STREAMER_WEBRTC_UDP_PORT") {
		t.Errorf("webrtc port %+v, want UDP with hostPort = containerPort = STREAMER_WEBRTC_UDP_PORT (%s)", udp, envValue(t, c, "STREAMER_WEBRTC_UDP_PORT"))
	}
	if ip := envVar(c, "STREAMER_WEBRTC_PUBLIC_IP"); ip == nil || ip.Value == "" && (ip.ValueFrom == nil || ip.ValueFrom.FieldRef == nil || ip.ValueFrom.FieldRef.FieldPath != "status.hostIP") {
		t.Errorf("STREAMER_WEBRTC_PUBLIC_IP %+v, want a value or the node's address (status.hostIP)", ip)
	}
	// Probes on the streamer's endpoints.
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"startup", c.StartupProbe, "/healthz"}, {"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe %+v, want GET %s on the http port", p.name, p.probe, p.path)
		}
	}
	// The drain: preStop sleeps, SIGTERM then waits and closes; the grace period covers it.
	ps := c.Lifecycle
	if ps == nil || ps.PreStop == nil || ps.PreStop.Exec == nil || len(ps.PreStop.Exec.Command) != 2 || ps.PreStop.Exec.Command[0] != "sleep" {
		t.Fatalf("preStop %+v, want exec sleep N", ps)
	}
	pre, err := strconv.Atoi(ps.PreStop.Exec.Command[1])
	if err != nil {
		t.Fatal(err)
	}
	need := time.Duration(pre)*time.Second + seconds(t, c, "STREAMER_DRAIN_WAIT") + seconds(t, c, "STREAMER_DRAIN_TIMEOUT")
	if g := pod.Spec.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second < need+2*time.Second {
		t.Errorf("terminationGracePeriodSeconds %v, want at least preStop + drain wait + drain timeout (%v) and 2 s to exit", g, need)
	}
	if pod.Annotations["checksum/config"] == "" {
		t.Error("no checksum/config annotation: a changed ConfigMap would not roll the pods")
	}
	if sc := pod.Spec.SecurityContext; sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 10001 || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("pod security context %+v, want the image's user 10001, non-root", sc)
	}
	if !strings.HasPrefix(c.Image, "rendercast:") && !strings.Contains(c.Image, "/rendercast:") {
		t.Errorf("image %q, want the container image's name (rendercast)", c.Image)
	}
	for _, pdb := range o.PDBs {
		sel, err := metavSelector(pdb.Spec.Selector)
		if err != nil || !sel.Matches(podLabels) {
			t.Errorf("the PodDisruptionBudget does not select the pods (%v)", err)
		}
	}
}

func checkGPUPod(t *testing.T, d *appsv1.Deployment, gpus int64) {
	t.Helper()
	pod := d.Spec.Template.Spec
	c := container(t, d)
	if pod.RuntimeClassName == nil || *pod.RuntimeClassName != "nvidia" {
		t.Errorf("runtimeClassName %v, want nvidia", pod.RuntimeClassName)
	}
	if q := c.Resources.Limits["nvidia.com/gpu"]; q.Cmp(*resource.NewQuantity(gpus, resource.DecimalSI)) != 0 {
		t.Errorf("nvidia.com/gpu limit %v, want %d", q.String(), gpus)
	}
	if v := envValue(t, c, "NVIDIA_DRIVER_CAPABILITIES"); v != "graphics,video,utility" {
		t.Errorf("NVIDIA_DRIVER_CAPABILITIES %q, want graphics,video,utility (EGL and NVENC)", v)
	}
	if !slices.ContainsFunc(pod.Tolerations, func(tl corev1.Toleration) bool { return tl.Key == "nvidia.com/gpu" }) {
		t.Errorf("tolerations %+v, want the GPU nodes' taint tolerated", pod.Tolerations)
	}
}

func checkDefault(t *testing.T, o *Objects) {
	kinds := o.Kinds()
	slices.Sort(kinds)
	if want := []string{"ConfigMap", "Deployment", "PodDisruptionBudget", "Service"}; !slices.Equal(kinds, want) {
		t.Errorf("objects %v, want %v", kinds, want)
	}
	d := o.Deployments[0]
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2", d.Spec.Replicas)
	}
	checkGPUPod(t, d, 1)
	c := container(t, d)
	if d.Spec.Template.Spec.HostNetwork || port(c, "webrtc").HostPort == 0 {
		t.Error("the default publishes the WebRTC port with hostPort, not the host's network")
	}
	if envVar(c, "STREAMER_TOKEN") != nil || envVar(c, "STREAMER_LISTEN_TLS") != nil {
		t.Error("tokens or RTMPS without their values")
	}
	if envValue(t, c, "STREAMER_DRAIN_TIMEOUT") != "5s" || envValue(t, c, "STREAMER_DRAIN_WAIT") != "0s" {
		t.Error("the default drain is not the streamer's (5s, 0s)")
	}
}

func checkGPU(t *testing.T, o *Objects) {
	d := o.Deployments[0]
	checkGPUPod(t, d, 2)
	pod := d.Spec.Template.Spec
	c := container(t, d)
	if !pod.HostNetwork || pod.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
		t.Errorf("hostNetwork %v, dnsPolicy %q: want the host's network with cluster DNS", pod.HostNetwork, pod.DNSPolicy)
	}
	svc := o.Services[0]
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal {
		t.Errorf("Service type %s, policy %s", svc.Spec.Type, svc.Spec.ExternalTrafficPolicy)
	}
	if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == "rtmps" && p.Port == 1936 }) {
		t.Errorf("Service ports %+v, want rtmps 1936", svc.Spec.Ports)
	}
	cert := envValue(t, c, "STREAMER_TLS_CERT")
	if m := mountFor(t, d, c, cert); m.vol.Secret == nil || m.vol.Secret.SecretName != "rendercast-tls" {
		t.Errorf("STREAMER_TLS_CERT %s is on %+v, want the Secret rendercast-tls", cert, m.vol)
	}
	mountFor(t, d, c, envValue(t, c, "STREAMER_TLS_KEY"))
	for name, key := range map[string]string{"STREAMER_TOKEN": "token", "STREAMER_CONTROL_TOKEN": "control-token"} {
		e := envVar(c, name)
		if e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != "rendercast-tokens" || e.ValueFrom.SecretKeyRef.Key != key {
			t.Errorf("%s %+v, want key %s of the Secret rendercast-tokens", name, e, key)
		}
	}
	if len(o.Secrets) != 0 {
		t.Error("a Secret made though an existing one is named")
	}
	if g := *d.Spec.Template.Spec.TerminationGracePeriodSeconds; g < 5+20+10 {
		t.Errorf("terminationGracePeriodSeconds %d with preStop 5, wait 20, timeout 10", g)
	}
}

func checkCPU(t *testing.T, o *Objects) {
	d := o.Deployments[0]
	pod := d.Spec.Template.Spec
	c := container(t, d)
	if pod.RuntimeClassName != nil {
		t.Errorf("runtimeClassName %q on CPU nodes", *pod.RuntimeClassName)
	}
	for name := range c.Resources.Limits {
		if strings.Contains(string(name), "gpu") {
			t.Errorf("limit %s on CPU nodes", name)
		}
	}
	for name := range c.Resources.Requests {
		if strings.Contains(string(name), "gpu") {
			t.Errorf("request %s on CPU nodes", name)
		}
	}
	if envVar(c, "NVIDIA_DRIVER_CAPABILITIES") != nil || len(pod.Tolerations) != 0 {
		t.Error("NVIDIA settings on CPU nodes")
	}
	if cpu := c.Resources.Limits[corev1.ResourceCPU]; cpu.Cmp(resource.MustParse("4")) != 0 {
		t.Errorf("CPU limit %v, want 4 (what the capacity model sizes)", cpu.String())
	}
	if !strings.Contains(o.ConfigMaps[0].Data["streamer.yaml"], "encoder: libx264") {
		t.Errorf("ConfigMap %q, want encoder libx264", o.ConfigMaps[0].Data["streamer.yaml"])
	}
}

func checkHPA(t *testing.T, o *Objects) {
	d := o.Deployments[0]
	c := container(t, d)
	if len(o.HPAs) != 1 || len(o.ServiceMonitors) != 1 || len(o.Secrets) != 1 {
		t.Fatalf("objects %v, want an HPA, a ServiceMonitor and a Secret", o.Kinds())
	}
	if d.Spec.Replicas != nil {
		t.Errorf("replicas %d set with an autoscaler", *d.Spec.Replicas)
	}
	h := o.HPAs[0].Spec
	if h.ScaleTargetRef.Kind != "Deployment" || h.ScaleTargetRef.APIVersion != "apps/v1" || h.ScaleTargetRef.Name != d.Name {
		t.Errorf("HPA targets %+v, want the Deployment %s", h.ScaleTargetRef, d.Name)
	}
	if h.MinReplicas == nil || *h.MinReplicas != 2 || h.MaxReplicas != 12 || len(h.Metrics) != 1 {
		t.Fatalf("HPA %+v", h)
	}
	m := h.Metrics[0]
	if m.Pods == nil || m.Pods.Metric.Name != "rendercast_viewers" || m.Pods.Target.AverageValue == nil || m.Pods.Target.AverageValue.Cmp(resource.MustParse("16")) != 0 {
		t.Errorf("HPA metric %+v, want pods metric rendercast_viewers at 16 per pod", m)
	}
	sm := o.ServiceMonitors[0]
	svc := o.Services[0]
	sel, err := metavSelector(&sm.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(svc.Labels)) {
		t.Errorf("ServiceMonitor selector %+v does not select the Service %v (%v)", sm.Spec.Selector, svc.Labels, err)
	}
	if sm.Labels["release"] != "prometheus" || len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("ServiceMonitor %+v", sm)
	}
	ep := sm.Spec.Endpoints[0]
	if ep.Path != "/metrics" || ep.Interval != "10s" || !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port }) {
		t.Errorf("ServiceMonitor endpoint %+v, want /metrics every 10s on a Service port", ep)
	}
	sec := o.Secrets[0]
	if sec.StringData["token"] != "watch-secret" || sec.StringData["control-token"] != "steer-secret" {
		t.Errorf("Secret %v", sec.StringData)
	}
	for _, name := range []string{"STREAMER_TOKEN", "STREAMER_CONTROL_TOKEN"} {
		if e := envVar(c, name); e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != sec.Name {
			t.Errorf("%s %+v, want it from the Secret %s", name, e, sec.Name)
		}
	}
	if data := o.ConfigMaps[0].Data["streamer.yaml"]; !strings.Contains(data, "- lobby=demo") || strings.Contains(data, "token") {
		t.Errorf("ConfigMap %q: want the session list and no token", data)
	}
}
