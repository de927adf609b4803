package check

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"

	"github.com/movable-registry/registry/internal/config"
)

const root = "../.."

// TestDockerfile parses the Dockerfile as BuildKit does and checks what the
// image promises: built in one stage, run from a static binary as a
// non-root user on a distroless base, with a health check.
func TestDockerfile(t *testing.T) {
	f, err := os.Open("../docker/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ast, err := parser.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	stages, metaArgs, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = metaArgs
	if len(stages) != 2 {
		t.Fatalf("%d stages, want a build stage and a run stage", len(stages))
	}
	run := stages[len(stages)-1]
	if !strings.HasPrefix(run.BaseName, "gcr.io/distroless/static") {
		t.Errorf("the image runs on %s, want distroless static", run.BaseName)
	}
	var user, health, entry bool
	for _, cmd := range run.Commands {
		switch c := cmd.(type) {
		case *instructions.UserCommand:
			user = c.User != "" && !strings.HasPrefix(c.User, "0") && c.User != "root"
		case *instructions.HealthCheckCommand:
			health = slices.Contains(c.Health.Test, "healthcheck")
		case *instructions.EntrypointCommand:
			entry = slices.Equal(c.CmdLine, []string{"/usr/local/bin/registryd"})
		case *instructions.CopyCommand:
			for _, src := range c.SourcePaths {
				if c.From == "" {
					if _, err := os.Stat(filepath.Join(root, src)); err != nil {
						t.Errorf("COPY %s: %v", src, err)
					}
				}
			}
		}
	}
	if !user || !health || !entry {
		t.Errorf("non-root user %v, health check by registryd healthcheck %v, entrypoint registryd %v", user, health, entry)
	}
	for _, cmd := range stages[0].Commands {
		if r, ok := cmd.(*instructions.RunCommand); ok && strings.Contains(strings.Join(r.CmdLine, " "), "go build") {
			return
		}
	}
	t.Error("the build stage builds nothing")
}

// TestCompose loads the compose file with the Compose specification's own
// loader (interpolation, merging of the shared block, validation against the
// schema) and checks the topology: a primary and a streaming replica,
// migrations once, two instances that wait for them, a proxy whose address
// the instances trust.
func TestCompose(t *testing.T) {
	dir, err := filepath.Abs("../compose")
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(filepath.Join(dir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: "compose.yaml", Content: body}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) { o.SetProjectName("registry", true) })
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range p.Services {
		names = append(names, name)
	}
	slices.Sort(names)
	if want := []string{"migrate", "primary", "proxy", "registryd-1", "registryd-2", "replica"}; !slices.Equal(names, want) {
		t.Fatalf("services %v, want %v", names, want)
	}
	proxyIP := p.Services["proxy"].Networks["registry"].Ipv4Address
	for _, name := range []string{"registryd-1", "registryd-2"} {
		s := p.Services[name]
		if s.DependsOn["migrate"].Condition != types.ServiceConditionCompletedSuccessfully {
			t.Errorf("%s does not wait for the migrations", name)
		}
		if !s.ReadOnly || s.User != "65532:65532" || !slices.Contains(s.CapDrop, "ALL") {
			t.Errorf("%s: read-only %v, user %q, cap_drop %v", name, s.ReadOnly, s.User, s.CapDrop)
		}
		if v := s.Environment["REGISTRY_TRUSTED_PROXIES"]; v == nil || *v != proxyIP {
			t.Errorf("%s trusts %v, the proxy is %s", name, v, proxyIP)
		}
		if len(s.Secrets) != 7 {
			t.Errorf("%s: secrets %v", name, s.Secrets)
		}
		// Its register writes go to the leading instance: it names its own
		// address, and signs with the shared secret.
		if v := s.Environment["REGISTRY_ADVERTISE_URL"]; v == nil || *v != "http://"+name+":8080" {
			t.Errorf("%s advertises %v", name, v)
		}
		if v := s.Environment["REGISTRY_CLUSTER_SECRET_FILE"]; v == nil || *v != "/run/secrets/cluster_secret" {
			t.Errorf("%s reads the cluster secret from %v", name, v)
		}
		// Its reads may go to the replica, named in a secret file.
		if v := s.Environment["DATABASE_REPLICA_URLS_FILE"]; v == nil || *v != "/run/secrets/database_replica_urls" {
			t.Errorf("%s reads its replicas from %v", name, v)
		}
	}
	if cmd := strings.Join(p.Services["replica"].Command, " "); !strings.Contains(cmd, "pg_basebackup -h primary") || !strings.Contains(cmd, " -R ") {
		t.Errorf("the replica is not a streaming standby of the primary: %s", cmd)
	}
	if cmd := p.Services["migrate"].Command; !slices.Equal(cmd, []string{"bootstrap"}) {
		t.Errorf("migrate runs %v", cmd)
	}
}

// TestKustomize builds the base and the production overlay with kubectl's
// kustomize and decodes every object strictly into Kubernetes' own types
// (an unknown or misspelt field is an error). The CloudNativePG Cluster is
// decoded into the fields this project uses, strictly too; its full schema
// is the operator's and is not available here.
func TestKustomize(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl is not installed: apt-get install kubectl, or see kubernetes.io/docs/tasks/tools")
	}
	for _, tc := range []struct {
		dir       string
		replicas  int32
		namespace string
	}{{"../kubernetes/base", 2, ""}, {"../kubernetes/overlays/production", 3, "registry"}} {
		t.Run(filepath.Base(tc.dir), func(t *testing.T) {
			out, err := exec.Command("kubectl", "kustomize", tc.dir).CombinedOutput()
			if err != nil {
				t.Fatalf("kubectl kustomize: %v\n%s", err, out)
			}
			kinds := map[string]int{}
			for _, doc := range bytes.Split(out, []byte("\n---\n")) {
				var meta struct {
					Kind     string `json:"kind"`
					Metadata struct {
						Namespace string `json:"namespace"`
					} `json:"metadata"`
				}
				if err := yaml.Unmarshal(doc, &meta); err != nil {
					t.Fatal(err)
				}
				kinds[meta.Kind]++
				if meta.Metadata.Namespace != tc.namespace {
					t.Errorf("%s in namespace %q, want %q", meta.Kind, meta.Metadata.Namespace, tc.namespace)
				}
				strict := func(v any) {
					t.Helper()
					if err := yaml.UnmarshalStrict(doc, v); err != nil {
						t.Errorf("%s: %v", meta.Kind, err)
					}
				}
				switch meta.Kind {
				case "Deployment":
					var d appsv1.Deployment
					strict(&d)
					checkDeployment(t, d, tc.replicas)
				case "Service":
					strict(&corev1.Service{})
				case "ConfigMap":
					var c corev1.ConfigMap
					strict(&c)
					checkSettings(t, c.Data["registry.yaml"])
				case "PodDisruptionBudget":
					var p policyv1.PodDisruptionBudget
					strict(&p)
					if p.Spec.MinAvailable == nil || p.Spec.MinAvailable.IntVal < 1 || p.Spec.MinAvailable.IntVal >= tc.replicas {
						t.Errorf("the disruption budget keeps %v of %d instances", p.Spec.MinAvailable, tc.replicas)
					}
				case "Job":
					var j batchv1.Job
					strict(&j)
					if args := j.Spec.Template.Spec.Containers[0].Args; !slices.Equal(args, []string{"bootstrap"}) {
						t.Errorf("the job runs %v", args)
					}
				case "NetworkPolicy":
					var n networkingv1.NetworkPolicy
					strict(&n)
					if !slices.Contains(n.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) || !slices.Contains(n.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
						t.Errorf("the network policy limits %v", n.Spec.PolicyTypes)
					}
				case "Cluster":
					var c cnpgCluster
					strict(&c)
					if c.Spec.Instances < 2 {
						t.Errorf("the database has %d instances: no replica", c.Spec.Instances)
					}
					// A failover must not lose acknowledged filings: a
					// standby is synchronous (README, "Faults").
					if c.Spec.MaxSyncReplicas < 1 || c.Spec.MinSyncReplicas > c.Spec.MaxSyncReplicas || c.Spec.MaxSyncReplicas >= c.Spec.Instances {
						t.Errorf("the database's synchronous standbys: min %d, max %d of %d instances", c.Spec.MinSyncReplicas, c.Spec.MaxSyncReplicas, c.Spec.Instances)
					}
				default:
					t.Errorf("an object of kind %s that nothing checks", meta.Kind)
				}
			}
			for _, k := range []string{"Deployment", "Service", "ConfigMap", "PodDisruptionBudget", "Job", "NetworkPolicy", "Cluster"} {
				if kinds[k] != 1 {
					t.Errorf("%d objects of kind %s, want 1", kinds[k], k)
				}
			}
		})
	}
}

func checkDeployment(t *testing.T, d appsv1.Deployment, replicas int32) {
	t.Helper()
	if d.Spec.Replicas == nil || *d.Spec.Replicas != replicas {
		t.Errorf("replicas %v, want %d", d.Spec.Replicas, replicas)
	}
	pod := d.Spec.Template.Spec
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Error("the pod may run as root")
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("the container's security context is not restrictive: %+v", sc)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Error("readiness is not /readyz or liveness not /healthz")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Error("no resource requests or limits")
	}
}

// checkSettings loads the ConfigMap's registry.yaml with registryd's own
// loader: a setting it refuses would stop every instance.
func checkSettings(t *testing.T, body string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "registry.yaml")
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(func(k string) string {
		return map[string]string{"REGISTRY_CONFIG": file, "DATABASE_URL": "postgres://db/registry"}[k]
	})
	if err != nil {
		t.Fatalf("registryd refuses the ConfigMap's settings: %v", err)
	}
	if len(c.TrustedProxies) == 0 || !c.Web.SecureCookies {
		t.Errorf("trusted proxies %v, secure cookies %v", c.TrustedProxies, c.Web.SecureCookies)
	}
}

// cnpgCluster is the part of CloudNativePG's Cluster this project sets.
type cnpgCluster struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace,omitempty"`
		Labels    map[string]string `json:"labels,omitempty"`
	} `json:"metadata"`
	Spec struct {
		Instances             int    `json:"instances"`
		MinSyncReplicas       int    `json:"minSyncReplicas"`
		MaxSyncReplicas       int    `json:"maxSyncReplicas"`
		ImageName             string `json:"imageName"`
		PrimaryUpdateStrategy string `json:"primaryUpdateStrategy"`
		PostgreSQL            struct {
			Parameters map[string]string `json:"parameters"`
		} `json:"postgresql"`
		Bootstrap struct {
			InitDB struct {
				Database string `json:"database"`
				Owner    string `json:"owner"`
			} `json:"initdb"`
		} `json:"bootstrap"`
		Storage struct {
			Size string `json:"size"`
		} `json:"storage"`
		Resources corev1.ResourceRequirements `json:"resources"`
	} `json:"spec"`
}

// TestSystemdUnit asks systemd's own analyzer about the unit, with the
// binary's path pointed at one that exists here.
func TestSystemdUnit(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
	}
	body, err := os.ReadFile("../systemd/registryd.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"NoNewPrivileges=yes", "ProtectSystem=strict", "DynamicUser=yes", "CapabilityBoundingSet=", "ExecStartPre=/usr/local/bin/registryd migrate"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("the unit lacks %s", want)
		}
	}
	unit := filepath.Join(t.TempDir(), "registryd.service")
	if err := os.WriteFile(unit, bytes.ReplaceAll(body, []byte("/usr/local/bin/registryd"), []byte("/bin/true")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", unit).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestSystemdBackupUnits asks systemd's analyzer about the scheduled backup
// (registry-backup.service and its timer), with pgBackRest's path pointed at
// a program that exists here, and checks what docs/backups.md promises of
// them: nightly, caught up after downtime, full on Sunday, as postgres.
func TestSystemdBackupUnits(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
	}
	dir := t.TempDir()
	for name, wants := range map[string][]string{
		"registry-backup.service": {"Type=oneshot", "User=postgres", "--type=$$type backup", `= 7 ]; then type=full; else type=incr`, "NoNewPrivileges=yes"},
		"registry-backup.timer":   {"OnCalendar=*-*-* 01:30:00", "Persistent=true", "Unit=registry-backup.service", "WantedBy=timers.target"},
	} {
		body, err := os.ReadFile("../systemd/" + name)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range wants {
			if !bytes.Contains(body, []byte(want)) {
				t.Errorf("%s lacks %s", name, want)
			}
		}
		body = bytes.ReplaceAll(body, []byte("/usr/bin/pgbackrest"), []byte("/bin/true"))
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command("systemd-analyze", "verify", filepath.Join(dir, "registry-backup.service"), filepath.Join(dir, "registry-backup.timer")).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	conf, err := os.ReadFile("../systemd/pgbackrest.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[registry]", "repo1-retention-full=", "repo1-retention-archive=", "#repo2-type=s3"} {
		if !bytes.Contains(conf, []byte(want)) {
			t.Errorf("pgbackrest.conf lacks %s", want)
		}
	}
}
