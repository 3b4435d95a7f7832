package deploy

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	k8sjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/relutune/relutune/internal/process"
	"github.com/relutune/relutune/trainer"
)

const chartDir = "helm/relutune"

// KEDA's custom resources, as far as the chart uses them: the fields of
// keda.sh/v1alpha1 ScaledObject and TriggerAuthentication
// (github.com/kedacore/keda/apis/keda/v1alpha1), so that strict decoding
// refuses a misspelt field as the API server would.
type scaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		ScaleTargetRef struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Name       string `json:"name"`
		} `json:"scaleTargetRef"`
		PollingInterval *int32         `json:"pollingInterval"`
		CooldownPeriod  *int32         `json:"cooldownPeriod"`
		MinReplicaCount *int32         `json:"minReplicaCount"`
		MaxReplicaCount *int32         `json:"maxReplicaCount"`
		Triggers        []scaleTrigger `json:"triggers"`
	} `json:"spec"`
}

type scaleTrigger struct {
	Type              string            `json:"type"`
	Metadata          map[string]string `json:"metadata"`
	AuthenticationRef *struct {
		Name string `json:"name"`
	} `json:"authenticationRef"`
}

type triggerAuthentication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		SecretTargetRef []struct {
			Parameter string `json:"parameter"`
			Name      string `json:"name"`
			Key       string `json:"key"`
		} `json:"secretTargetRef"`
	} `json:"spec"`
}

// kinds are the API types every manifest of the chart must decode into.
var kinds = map[string]func() any{
	"v1/ConfigMap":                           func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                              func() any { return &corev1.Secret{} },
	"v1/ServiceAccount":                      func() any { return &corev1.ServiceAccount{} },
	"apps/v1/Deployment":                     func() any { return &appsv1.Deployment{} },
	"policy/v1/PodDisruptionBudget":          func() any { return &policyv1.PodDisruptionBudget{} },
	"autoscaling/v2/HorizontalPodAutoscaler": func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"keda.sh/v1alpha1/ScaledObject":          func() any { return &scaledObject{} },
	"keda.sh/v1alpha1/TriggerAuthentication": func() any { return &triggerAuthentication{} },
}

// manifests are the objects of one rendering, by "Kind/name".
type manifests map[string]any

func (m manifests) names() []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	return c
}

// render renders the chart with vals over its defaults as `helm install
// rt --namespace tuning` would, and returns the templates' output by file.
func render(t *testing.T, vals map[string]any) (map[string]string, error) {
	t.Helper()
	c := loadChart(t)
	opts := chartutil.ReleaseOptions{Name: "rt", Namespace: "tuning", Revision: 1, IsInstall: true}
	rv, err := chartutil.ToRenderValues(c, vals, opts, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	return engine.Render(c, rv)
}

// decode renders and decodes every manifest strictly into its Kubernetes
// API type: an unknown or misspelt field, a duplicate field or a value of
// the wrong type fails the test.
func decode(t *testing.T, vals map[string]any) manifests {
	t.Helper()
	files, err := render(t, vals)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	out := manifests{}
	for name, text := range files {
		if filepath.Ext(name) != ".yaml" {
			continue
		}
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(text, -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			js, err := yaml.YAMLToJSON([]byte(doc))
			if err != nil {
				t.Fatalf("%s document %d is not YAML: %v\n%s", name, i, err, doc)
			}
			var tm metav1.TypeMeta
			if err := k8sjson.UnmarshalCaseSensitivePreserveInts(js, &tm); err != nil {
				t.Fatalf("%s document %d: %v", name, i, err)
			}
			newObj, ok := kinds[tm.APIVersion+"/"+tm.Kind]
			if !ok {
				t.Fatalf("%s document %d: %s %s is not a kind this test knows; add its API type", name, i, tm.APIVersion, tm.Kind)
			}
			obj := newObj()
			strict, err := k8sjson.UnmarshalStrict(js, obj, k8sjson.DisallowDuplicateFields, k8sjson.DisallowUnknownFields)
			if err != nil {
				t.Fatalf("%s document %d: %v", name, i, err)
			}
			if len(strict) > 0 {
				t.Fatalf("%s document %d (%s) does not match the API type: %v\n%s", name, i, tm.Kind, strict, doc)
			}
			meta := reflect.ValueOf(obj).Elem().FieldByName("ObjectMeta").Interface().(metav1.ObjectMeta)
			if meta.Name == "" {
				t.Fatalf("%s document %d (%s) has no name", name, i, tm.Kind)
			}
			key := tm.Kind + "/" + meta.Name
			if _, dup := out[key]; dup {
				t.Fatalf("%s rendered twice", key)
			}
			out[key] = obj
		}
	}
	return out
}

func get[T any](t *testing.T, m manifests, key string) T {
	t.Helper()
	o, ok := m[key]
	if !ok {
		t.Fatalf("%s not rendered; got %v", key, m.names())
	}
	return o.(T)
}

// base are the values an install cannot do without.
func base() map[string]any {
	return map[string]any{"postgres": map[string]any{"url": "postgres://relutune:pw@db.tuning.svc:5432/relutune?sslmode=verify-full"}}
}

// with returns base() with more values merged in at dotted paths.
func with(kv ...any) map[string]any {
	v := base()
	for i := 0; i+1 < len(kv); i += 2 {
		path := strings.Split(kv[i].(string), ".")
		m := v
		for _, p := range path[:len(path)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[path[len(path)-1]] = kv[i+1]
	}
	return v
}

func container(t *testing.T, d *appsv1.Deployment) corev1.Container {
	t.Helper()
	if n := len(d.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("%s has %d containers, want 1", d.Name, n)
	}
	return d.Spec.Template.Spec.Containers[0]
}

// TestChartRendersValidManifests renders the chart with every
// combination of options the values offer and decodes each manifest into
// its API type with unknown fields refused.
func TestChartRendersValidManifests(t *testing.T) {
	pem := "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	for name, vals := range map[string]map[string]any{
		"defaults":          base(),
		"keda":              with("worker.autoscaling.mode", "keda", "temporal.apiKey", "k"),
		"keda without auth": with("worker.autoscaling.mode", "keda"),
		"hpa":               with("worker.autoscaling.mode", "hpa"),
		"inline tls":        with("temporal.tls.ca", pem, "temporal.tls.cert", pem, "temporal.tls.key", "key", "nats.tls.ca", pem),
		"existing secrets": with("secrets.existingSecret", "relutune-creds", "temporal.tls.existingSecret", "temporal-client",
			"nats.tls.existingSecret", "nats-client", "nats.credsSecret", "nats-creds", "worker.autoscaling.mode", "keda",
			"secrets.hasTemporalAPIKey", true),
		"no pdb, tracing": with("controller.pdb.enabled", false, "worker.pdb.enabled", false,
			"tracing.endpoint", "otel-collector.observability:4317", "tracing.insecure", true, "serviceAccount.create", false),
	} {
		t.Run(name, func(t *testing.T) {
			m := decode(t, vals)
			for _, d := range []string{"Deployment/rt-relutune-controller", "Deployment/rt-relutune-worker", "ConfigMap/rt-relutune"} {
				get[any](t, m, d)
			}
			checkReferences(t, m, vals)
		})
	}
}

// checkReferences checks that every ConfigMap, Secret and key a pod uses
// is rendered (or named as existing in vals), that every file a RELUTUNE_*
// variable names lies in a mounted volume, that PDBs and autoscalers
// select or target the chart's own Deployments, and that only the
// controller receives the database URL.
func checkReferences(t *testing.T, m manifests, vals map[string]any) {
	t.Helper()
	existing := map[string]bool{}
	for _, path := range []string{"secrets.existingSecret", "temporal.tls.existingSecret", "nats.tls.existingSecret", "nats.credsSecret"} {
		if s, _ := lookup(vals, path).(string); s != "" {
			existing[s] = true
		}
	}
	cm := get[*corev1.ConfigMap](t, m, "ConfigMap/rt-relutune")
	known := knownEnv()
	for k := range cm.Data {
		if !known[k] {
			t.Errorf("ConfigMap sets %s, which no relutune process reads", k)
		}
	}
	secretKey := func(name, key string, optional bool) {
		if existing[name] {
			return
		}
		s, ok := m["Secret/"+name].(*corev1.Secret)
		if !ok {
			t.Errorf("Secret %s is used but neither rendered nor named as existing", name)
			return
		}
		if _, ok := s.StringData[key]; !ok && !optional {
			t.Errorf("Secret %s has no key %s", name, key)
		}
	}
	for _, comp := range []string{"controller", "worker"} {
		d := get[*appsv1.Deployment](t, m, "Deployment/rt-relutune-"+comp)
		pod := d.Spec.Template
		if !reflect.DeepEqual(d.Spec.Selector.MatchLabels, pod.Labels) {
			t.Errorf("%s: selector %v does not equal the pod labels %v", comp, d.Spec.Selector.MatchLabels, pod.Labels)
		}
		c := container(t, d)
		env := map[string]string{}
		for k, v := range cm.Data {
			env[k] = v
		}
		for _, ef := range c.EnvFrom {
			if ef.ConfigMapRef == nil || ef.ConfigMapRef.Name != cm.Name {
				t.Errorf("%s: envFrom %+v is not the chart's ConfigMap", comp, ef)
			}
		}
		for _, e := range c.Env {
			if !known[e.Name] && e.Name != "POD_NAME" {
				t.Errorf("%s: env %s is read by no relutune process", comp, e.Name)
			}
			env[e.Name] = e.Value
			if r := e.ValueFrom; r != nil && r.SecretKeyRef != nil {
				secretKey(r.SecretKeyRef.Name, r.SecretKeyRef.Key, r.SecretKeyRef.Optional != nil && *r.SecretKeyRef.Optional)
			}
		}
		if _, ok := env[process.EnvDatabaseURL]; ok != (comp == "controller") {
			t.Errorf("%s: has the database URL: %v; only the controller may (workers never touch Postgres)", comp, ok)
		}
		// Files named by the environment lie in a mounted volume whose
		// Secret holds them.
		mounts := map[string]corev1.Volume{}
		for _, vm := range c.VolumeMounts {
			i := slices.IndexFunc(pod.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == vm.Name })
			if i < 0 {
				t.Fatalf("%s: mount %s has no volume", comp, vm.Name)
			}
			mounts[vm.MountPath] = pod.Spec.Volumes[i]
		}
		for k, v := range env {
			if !strings.HasPrefix(v, "/etc/relutune/") {
				continue
			}
			vol, ok := mounts[filepath.Dir(v)]
			if !ok || vol.Secret == nil {
				t.Errorf("%s: %s=%s is in no mounted Secret volume", comp, k, v)
				continue
			}
			secretKey(vol.Secret.SecretName, filepath.Base(v), false)
		}
		if got := c.LivenessProbe.HTTPGet.Path; got != "/livez" {
			t.Errorf("%s: liveness on %s, want /livez", comp, got)
		}
		if got := c.ReadinessProbe.HTTPGet.Path; got != "/healthz" {
			t.Errorf("%s: readiness on %s, want /healthz", comp, got)
		}
		port := c.ReadinessProbe.HTTPGet.Port
		if port.Type != intstr.String || !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == port.StrVal }) {
			t.Errorf("%s: probes use port %v, which the container does not declare", comp, port)
		}
		if addr := env[process.EnvHTTPAddr]; !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return addr == fmt.Sprintf(":%d", p.ContainerPort) }) {
			t.Errorf("%s: serves health on %q, not on a declared port %v", comp, addr, c.Ports)
		}
		if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s: root filesystem is writable", comp)
		}
		if pdb, ok := m["PodDisruptionBudget/rt-relutune-"+comp].(*policyv1.PodDisruptionBudget); ok {
			if !reflect.DeepEqual(pdb.Spec.Selector.MatchLabels, pod.Labels) {
				t.Errorf("%s: PDB selects %v, pods carry %v", comp, pdb.Spec.Selector.MatchLabels, pod.Labels)
			}
		}
	}
	for _, key := range m.names() {
		switch o := m[key].(type) {
		case *scaledObject:
			if r := o.Spec.ScaleTargetRef; r.Kind != "Deployment" || r.Name != "rt-relutune-worker" {
				t.Errorf("%s scales %s/%s, want the worker Deployment", key, r.Kind, r.Name)
			}
			for _, tr := range o.Spec.Triggers {
				if tr.AuthenticationRef != nil {
					get[*triggerAuthentication](t, m, "TriggerAuthentication/"+tr.AuthenticationRef.Name)
				}
			}
		case *triggerAuthentication:
			for _, ref := range o.Spec.SecretTargetRef {
				secretKey(ref.Name, ref.Key, false)
			}
		case *autoscalingv2.HorizontalPodAutoscaler:
			if r := o.Spec.ScaleTargetRef; r.Kind != "Deployment" || r.Name != "rt-relutune-worker" {
				t.Errorf("%s scales %s/%s, want the worker Deployment", key, r.Kind, r.Name)
			}
		}
	}
}

func lookup(vals map[string]any, path string) any {
	var v any = vals
	for _, p := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// knownEnv are the environment variables relutune's processes read.
func knownEnv() map[string]bool {
	names := []string{
		process.EnvDatabaseURL, process.EnvNATSURL, process.EnvTemporalAddress, process.EnvTemporalNamespace,
		process.EnvHTTPAddr, process.EnvCheckpointDir,
		process.EnvCheckpointBackend, process.EnvCheckpointBucket, process.EnvCheckpointReplicas,
		process.EnvTemporalTLS, process.EnvTemporalTLSCert, process.EnvTemporalTLSKey, process.EnvTemporalTLSCA,
		process.EnvTemporalTLSServerName, process.EnvTemporalAPIKey,
		process.EnvNATSCreds, process.EnvNATSNKey, process.EnvNATSUser, process.EnvNATSPassword, process.EnvNATSToken,
		process.EnvNATSTLS, process.EnvNATSTLSCert, process.EnvNATSTLSKey, process.EnvNATSTLSCA,
		process.EnvLogLevel, process.EnvLogFormat,
		process.EnvTraceEndpoint, process.EnvTraceInsecure, process.EnvTraceSampleRatio,
		trainer.EnvDataDir, trainer.EnvMaxDatasetBytes, trainer.EnvDatasetCacheBytes,
	}
	known := map[string]bool{}
	for _, n := range names {
		known[n] = true
	}
	return known
}

// TestChartDefaults pins what an install with only a database URL gets.
func TestChartDefaults(t *testing.T) {
	m := decode(t, base())
	want := []string{
		"ConfigMap/rt-relutune", "Deployment/rt-relutune-controller", "Deployment/rt-relutune-worker",
		"PodDisruptionBudget/rt-relutune-controller", "PodDisruptionBudget/rt-relutune-worker",
		"Secret/rt-relutune", "ServiceAccount/rt-relutune",
	}
	if got := m.names(); !slices.Equal(got, want) {
		t.Fatalf("rendered %v, want %v", got, want)
	}
	cm := get[*corev1.ConfigMap](t, m, "ConfigMap/rt-relutune")
	for k, v := range map[string]string{
		process.EnvTemporalAddress: "temporal-frontend.temporal.svc.cluster.local:7233",
		process.EnvNATSURL:         "nats://nats.nats.svc.cluster.local:4222",
		process.EnvHTTPAddr:        ":8080",
		process.EnvLogFormat:       "json",
	} {
		if cm.Data[k] != v {
			t.Errorf("ConfigMap %s = %q, want %q", k, cm.Data[k], v)
		}
	}
	for _, k := range []string{process.EnvTemporalTLS, process.EnvTraceEndpoint, process.EnvNATSTLS} {
		if _, ok := cm.Data[k]; ok {
			t.Errorf("ConfigMap sets %s by default; TLS and tracing are opt-in", k)
		}
	}
	w := get[*appsv1.Deployment](t, m, "Deployment/rt-relutune-worker")
	if w.Spec.Replicas == nil || *w.Spec.Replicas != 2 {
		t.Errorf("worker replicas %v, want 2", w.Spec.Replicas)
	}
	ctl := get[*appsv1.Deployment](t, m, "Deployment/rt-relutune-controller")
	if ctl.Spec.Replicas == nil || *ctl.Spec.Replicas != 2 {
		t.Errorf("controller replicas %v, want 2", ctl.Spec.Replicas)
	}
	pdb := get[*policyv1.PodDisruptionBudget](t, m, "PodDisruptionBudget/rt-relutune-controller")
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 {
		t.Errorf("controller PDB minAvailable %v, want 1", pdb.Spec.MinAvailable)
	}
	s := get[*corev1.Secret](t, m, "Secret/rt-relutune")
	if !strings.HasPrefix(s.StringData["database-url"], "postgres://") {
		t.Errorf("Secret database-url %q", s.StringData["database-url"])
	}
}

// TestWorkerResourcesFollowTheTrialMemoryBudget: the worker's memory is
// concurrency trials of the budget plus the overhead, its CPU one core a
// trial, and --max-trial-memory is the same budget in a form the worker
// parses.
func TestWorkerResourcesFollowTheTrialMemoryBudget(t *testing.T) {
	m := decode(t, with("worker.concurrency", 3, "worker.trialMemoryMiB", 1536, "worker.memoryOverheadMiB", 256))
	c := container(t, get[*appsv1.Deployment](t, m, "Deployment/rt-relutune-worker"))
	req, lim := c.Resources.Requests, c.Resources.Limits
	if got := req.Memory().Value(); got != (3*1536+256)<<20 {
		t.Errorf("memory request %s, want %d MiB", req.Memory(), 3*1536+256)
	}
	if !lim.Memory().Equal(*req.Memory()) {
		t.Errorf("memory limit %s, want the request %s", lim.Memory(), req.Memory())
	}
	if got := req.Cpu().MilliValue(); got != 3000 {
		t.Errorf("cpu request %s, want 3", req.Cpu())
	}
	var budget string
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--max-trial-memory="); ok {
			budget = v
		}
	}
	b, err := trainer.ParseBytes(budget)
	if err != nil || b != 1536<<20 {
		t.Errorf("--max-trial-memory=%q parses to %d, %v; want %d", budget, b, err, 1536<<20)
	}
	if !slices.Contains(c.Args, "--concurrency=3") {
		t.Errorf("args %v lack --concurrency=3", c.Args)
	}

	m = decode(t, with("worker.resources", map[string]any{"requests": map[string]any{"cpu": "500m", "memory": "1Gi"}}))
	c = container(t, get[*appsv1.Deployment](t, m, "Deployment/rt-relutune-worker"))
	if got := c.Resources.Requests.Memory().String(); got != "1Gi" || c.Resources.Limits != nil {
		t.Errorf("explicit resources not used as given: %+v", c.Resources)
	}
}

func TestWorkerAutoscaling(t *testing.T) {
	m := decode(t, with("worker.autoscaling.mode", "keda", "worker.autoscaling.maxReplicas", 40,
		"temporal.address", "ns.acct.tmprl.cloud:7233", "temporal.namespace", "ns.acct", "temporal.apiKey", "secret-key"))
	if w := get[*appsv1.Deployment](t, m, "Deployment/rt-relutune-worker"); w.Spec.Replicas != nil {
		t.Errorf("worker replicas %d set while KEDA owns them", *w.Spec.Replicas)
	}
	so := get[*scaledObject](t, m, "ScaledObject/rt-relutune-worker")
	if *so.Spec.MaxReplicaCount != 40 || len(so.Spec.Triggers) != 1 {
		t.Fatalf("ScaledObject %+v", so.Spec)
	}
	tr := so.Spec.Triggers[0]
	for k, v := range map[string]string{
		"endpoint": "ns.acct.tmprl.cloud:7233", "namespace": "ns.acct", "taskQueue": "relutune-trials",
		"queueTypes": "activity", "targetQueueSize": "1", "enableTLS": "true",
	} {
		if tr.Type != "temporal" || tr.Metadata[k] != v {
			t.Errorf("trigger %s metadata %s = %q, want %q", tr.Type, k, tr.Metadata[k], v)
		}
	}
	ta := get[*triggerAuthentication](t, m, "TriggerAuthentication/rt-relutune-temporal")
	if refs := ta.Spec.SecretTargetRef; len(refs) != 1 || refs[0].Parameter != "apiKey" || refs[0].Key != "temporal-api-key" {
		t.Errorf("TriggerAuthentication refs %+v, want the API key", refs)
	}

	m = decode(t, with("worker.autoscaling.mode", "hpa", "worker.autoscaling.targetBacklogPerReplica", 2))
	hpa := get[*autoscalingv2.HorizontalPodAutoscaler](t, m, "HorizontalPodAutoscaler/rt-relutune-worker")
	ext := hpa.Spec.Metrics[0].External
	if ext == nil || ext.Metric.Selector.MatchLabels["taskqueue"] != "relutune-trials" || ext.Target.AverageValue.Value() != 2 {
		t.Errorf("HPA metric %+v; want the trials queue's backlog, 2 per replica", hpa.Spec.Metrics[0])
	}
	if _, ok := m["ScaledObject/rt-relutune-worker"]; ok {
		t.Error("hpa mode also rendered a ScaledObject")
	}
}

// TestChartRefusesBadValues: mistakes fail the install with an error that
// names the value and what is allowed, from values.schema.json (a
// misspelt key too) or from the templates (what a schema cannot say).
func TestChartRefusesBadValues(t *testing.T) {
	for _, tc := range []struct {
		vals map[string]any
		want string
	}{
		{map[string]any{}, "postgres.url is required"},
		{with("worker.autoscaling.mode", "sometimes"), `at '/worker/autoscaling/mode': value must be one of 'none', 'keda', 'hpa'`},
		{with("worker.concurency", 2), `at '/worker': additional properties 'concurency' not allowed`},
		{with("logging.format", "xml"), `at '/logging/format': value must be one of 'text', 'json'`},
		{with("tracing.sampleRatio", 2), `at '/tracing/sampleRatio': maximum`},
		{with("worker.autoscaling.mode", "keda", "worker.autoscaling.minReplicas", 5, "worker.autoscaling.maxReplicas", 2), "minReplicas 5 must be <= maxReplicas 2"},
		{with("nats.user", "u", "nats.token", "t"), "set at most one of nats.user"},
		{with("worker.concurrency", 0), "at '/worker/concurrency': minimum: got 0, want 1"},
		{with("temporal.tls.cert", "PEM"), "temporal.tls: set both cert and key"},
	} {
		_, err := render(t, tc.vals)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("values %v: error %v, want one with %q", tc.vals, err, tc.want)
		}
	}
}

// TestServicesDoNotLinkHelm: Helm and the Kubernetes API types are for
// this test only; the binaries stay small.
func TestServicesDoNotLinkHelm(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../cmd/controller", "../cmd/worker", "../cmd/tunectl").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "helm.sh/") || strings.HasPrefix(dep, "k8s.io/") || strings.HasPrefix(dep, "sigs.k8s.io/") {
			t.Errorf("a relutune binary links %s", dep)
		}
	}
}
