package check

import (
	"bytes"
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/prometheus/common/model"
	promparser "github.com/prometheus/prometheus/promql/parser"
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
	if want := []string{"backup", "migrate", "primary", "proxy", "registryd-1", "registryd-2", "replica"}; !slices.Equal(names, want) {
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
	checkComposeBackups(t, p)
}

// checkComposeBackups checks the compose file's backups: the primary
// archives every WAL segment, at least every 60 s, into the backup volume,
// where the backup service takes daily base backups and records each one
// for /metrics with scripts/backup-record.sh.
func checkComposeBackups(t *testing.T, p *types.Project) {
	t.Helper()
	mounts := func(s types.ServiceConfig) string {
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume && v.Source == "backup" {
				return v.Target
			}
		}
		return ""
	}
	if _, ok := p.Volumes["backup"]; !ok {
		t.Fatal("no backup volume")
	}
	primary, backup := p.Services["primary"], p.Services["backup"]
	settings := map[string]string{}
	for i, a := range primary.Command {
		if a == "-c" && i+1 < len(primary.Command) {
			k, v, _ := strings.Cut(primary.Command[i+1], "=")
			settings[k] = v
		}
	}
	dir := mounts(primary)
	if settings["archive_mode"] != "on" || settings["archive_timeout"] != "60s" || dir == "" ||
		!strings.Contains(settings["archive_command"], "cp %p "+dir+"/") || !strings.Contains(settings["archive_command"], "test ! -f") {
		t.Errorf("the primary's archiving: mode %q, timeout %q, command %q, backup volume at %q",
			settings["archive_mode"], settings["archive_timeout"], settings["archive_command"], dir)
	}
	script := strings.Join(backup.Command, " ")
	if mounts(backup) != dir || !strings.Contains(script, "pg_basebackup -h primary") || !strings.Contains(script, "backup-record.sh base") || !strings.Contains(script, "sleep 86400") {
		t.Errorf("the backup service (volume at %q): %s", mounts(backup), script)
	}
	var recorder bool
	for _, c := range backup.Configs {
		cfg := p.Configs[c.Source]
		recorder = recorder || (c.Target == "/usr/local/bin/backup-record.sh" && strings.HasSuffix(cfg.File, "scripts/backup-record.sh"))
	}
	if !recorder || !slices.ContainsFunc(backup.Secrets, func(s types.ServiceSecretConfig) bool { return s.Source == "database_url" }) {
		t.Errorf("the backup service cannot record its backups: configs %v, secrets %v", backup.Configs, backup.Secrets)
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
			var (
				cluster   cnpgCluster
				store     objectStore
				scheduled scheduledBackup
			)
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
				case "ObjectStore":
					strict(&store)
				case "ScheduledBackup":
					strict(&scheduled)
				case "Cluster":
					var c cnpgCluster
					strict(&c)
					cluster = c
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
			for _, k := range []string{"Deployment", "Service", "ConfigMap", "PodDisruptionBudget", "Job", "NetworkPolicy", "Cluster", "ObjectStore", "ScheduledBackup"} {
				if kinds[k] != 1 {
					t.Errorf("%d objects of kind %s, want 1", kinds[k], k)
				}
			}
			checkBackups(t, cluster, store, scheduled)
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
// spec.backup (the in-tree barmanObjectStore, deprecated and gone in the
// operator 1.32) is not among its fields: a strict decoding refuses it.
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
			InitDB *struct {
				Database string `json:"database"`
				Owner    string `json:"owner"`
			} `json:"initdb,omitempty"`
			Recovery *struct {
				Source         string `json:"source"`
				Database       string `json:"database"`
				Owner          string `json:"owner"`
				RecoveryTarget *struct {
					TargetTime string `json:"targetTime"`
				} `json:"recoveryTarget,omitempty"`
			} `json:"recovery,omitempty"`
		} `json:"bootstrap"`
		Plugins          []cnpgPlugin `json:"plugins"`
		ExternalClusters []struct {
			Name   string     `json:"name"`
			Plugin cnpgPlugin `json:"plugin"`
		} `json:"externalClusters,omitempty"`
		Storage struct {
			Size string `json:"size"`
		} `json:"storage"`
		Resources corev1.ResourceRequirements `json:"resources"`
	} `json:"spec"`
}

// cnpgPlugin is a CNPG-I plugin entry of a Cluster (spec.plugins, or an
// external cluster's plugin).
type cnpgPlugin struct {
	Name          string            `json:"name"`
	IsWALArchiver bool              `json:"isWALArchiver,omitempty"`
	Parameters    map[string]string `json:"parameters"`
}

// barmanPlugin is the Barman Cloud plugin's name in CNPG-I.
const barmanPlugin = "barman-cloud.cloudnative-pg.io"

// objectStore is the part of the Barman Cloud plugin's ObjectStore
// (barmancloud.cnpg.io/v1) this project sets.
type objectStore struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace,omitempty"`
		Labels    map[string]string `json:"labels,omitempty"`
	} `json:"metadata"`
	Spec struct {
		RetentionPolicy string `json:"retentionPolicy"`
		Configuration   struct {
			DestinationPath string `json:"destinationPath"`
			EndpointURL     string `json:"endpointURL"`
			S3Credentials   struct {
				AccessKeyID     secretKey `json:"accessKeyId"`
				SecretAccessKey secretKey `json:"secretAccessKey"`
			} `json:"s3Credentials"`
			WAL struct {
				Compression string `json:"compression"`
				MaxParallel int    `json:"maxParallel"`
			} `json:"wal"`
			Data struct {
				Compression string `json:"compression"`
				Jobs        int    `json:"jobs"`
			} `json:"data"`
		} `json:"configuration"`
	} `json:"spec"`
}

type secretKey struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// scheduledBackup is the part of CloudNativePG's ScheduledBackup this
// project sets.
type scheduledBackup struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace,omitempty"`
		Labels    map[string]string `json:"labels,omitempty"`
	} `json:"metadata"`
	Spec struct {
		Schedule             string `json:"schedule"`
		Immediate            bool   `json:"immediate"`
		BackupOwnerReference string `json:"backupOwnerReference"`
		Cluster              struct {
			Name string `json:"name"`
		} `json:"cluster"`
		Method              string `json:"method"`
		PluginConfiguration struct {
			Name string `json:"name"`
		} `json:"pluginConfiguration"`
	} `json:"spec"`
}

// retention is the plugin's retentionPolicy pattern (its CRD's validation).
var retention = regexp.MustCompile(`^[1-9][0-9]*[dwm]$`)

// checkBackups checks that the database is backed up: its WAL archived
// through the Barman Cloud plugin into the ObjectStore, often enough for a
// 60 s recovery point, a retention kept, and a base backup taken daily by
// the plugin.
func checkBackups(t *testing.T, c cnpgCluster, store objectStore, sb scheduledBackup) {
	t.Helper()
	cfg := store.Spec.Configuration
	if !retention.MatchString(store.Spec.RetentionPolicy) {
		t.Errorf("the object store's retention policy %q", store.Spec.RetentionPolicy)
	}
	if !strings.Contains(cfg.DestinationPath, "://") || cfg.WAL.Compression == "" ||
		cfg.S3Credentials.AccessKeyID.Name == "" || cfg.S3Credentials.SecretAccessKey.Key == "" {
		t.Errorf("the object store: destination %q, WAL compression %q, credentials %+v", cfg.DestinationPath, cfg.WAL.Compression, cfg.S3Credentials)
	}
	archivers := 0
	for _, p := range c.Spec.Plugins {
		if p.Name == barmanPlugin && p.IsWALArchiver && p.Parameters["barmanObjectName"] == store.Metadata.Name {
			archivers++
		}
	}
	if archivers != 1 {
		t.Errorf("the cluster archives its WAL into the object store %q through %d plugin entries, want 1: %+v", store.Metadata.Name, archivers, c.Spec.Plugins)
	}
	if v := c.Spec.PostgreSQL.Parameters["archive_timeout"]; v != "60s" {
		t.Errorf("archive_timeout %q, want 60s (the recovery point with archiving alone)", v)
	}
	if sb.Spec.Method != "plugin" || sb.Spec.PluginConfiguration.Name != barmanPlugin || sb.Spec.Cluster.Name != c.Metadata.Name {
		t.Errorf("the scheduled backup: method %q through %q of cluster %q", sb.Spec.Method, sb.Spec.PluginConfiguration.Name, sb.Spec.Cluster.Name)
	}
	// The operator's cron has six fields, seconds first: daily is a fixed
	// second, minute and hour, every day.
	if f := strings.Fields(sb.Spec.Schedule); len(f) != 6 || strings.ContainsAny(f[0]+f[1]+f[2], "*/,") || f[3] != "*" || f[4] != "*" || f[5] != "*" {
		t.Errorf("the backup's schedule %q is not daily", sb.Spec.Schedule)
	}
}

// TestRecovery builds the restore overlay (deployments/kubernetes/recovery,
// not in the default build) and checks that it makes a cluster recovered
// from the object store the production cluster archives into, at a point in
// time, archiving into a folder of its own, and that registryd, its
// migrations, its network policy and the daily backup follow it.
func TestRecovery(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl is not installed")
	}
	out, err := exec.Command("kubectl", "kustomize", "../kubernetes/recovery").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl kustomize: %v\n%s", err, out)
	}
	clusters := map[string]cnpgCluster{}
	var (
		store     objectStore
		scheduled scheduledBackup
		deploy    appsv1.Deployment
		job       batchv1.Job
		policy    networkingv1.NetworkPolicy
	)
	for _, doc := range bytes.Split(out, []byte("\n---\n")) {
		var meta struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			t.Fatal(err)
		}
		var v any
		switch meta.Kind {
		case "Cluster":
			var c cnpgCluster
			if err := yaml.UnmarshalStrict(doc, &c); err != nil {
				t.Fatalf("Cluster: %v", err)
			}
			clusters[c.Metadata.Name] = c
			continue
		case "ObjectStore":
			v = &store
		case "ScheduledBackup":
			v = &scheduled
		case "Deployment":
			v = &deploy
		case "Job":
			v = &job
		case "NetworkPolicy":
			v = &policy
		default:
			continue
		}
		if err := yaml.UnmarshalStrict(doc, v); err != nil {
			t.Fatalf("%s: %v", meta.Kind, err)
		}
	}
	original, restored := clusters["registry-db"], clusters["registry-db-restored"]
	if len(clusters) != 2 || original.Spec.Bootstrap.InitDB == nil {
		t.Fatalf("clusters %v: want registry-db as it was and registry-db-restored", slices.Collect(maps.Keys(clusters)))
	}
	r := restored.Spec.Bootstrap.Recovery
	if r == nil || restored.Spec.Bootstrap.InitDB != nil {
		t.Fatal("registry-db-restored is not bootstrapped by a recovery")
	}
	if r.Database != "registry" || r.Owner != "registry" {
		t.Errorf("the restored cluster's application database %q owned by %q", r.Database, r.Owner)
	}
	// It recovers from the store and the folder registry-db archives into.
	var from *cnpgPlugin
	for i, e := range restored.Spec.ExternalClusters {
		if e.Name == r.Source {
			from = &restored.Spec.ExternalClusters[i].Plugin
		}
	}
	if from == nil || from.Name != barmanPlugin || from.Parameters["barmanObjectName"] != store.Metadata.Name || from.Parameters["serverName"] != original.Metadata.Name {
		t.Fatalf("the recovery's source %q: %+v, want the plugin on object store %q, server %q", r.Source, from, store.Metadata.Name, original.Metadata.Name)
	}
	if r.RecoveryTarget == nil {
		t.Error("no recoveryTarget example")
	} else if _, err := time.Parse("2006-01-02 15:04:05.999999-07", r.RecoveryTarget.TargetTime); err != nil {
		t.Errorf("recoveryTarget.targetTime %q: %v", r.RecoveryTarget.TargetTime, err)
	}
	// It archives too, but never into the folder it recovers from.
	for _, p := range restored.Spec.Plugins {
		if p.IsWALArchiver && p.Parameters["serverName"] == original.Metadata.Name {
			t.Errorf("the restored cluster archives over registry-db's history: %+v", p)
		}
	}
	checkBackups(t, restored, store, scheduled)

	env := map[string]corev1.EnvVar{}
	for _, e := range deploy.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e
	}
	for _, name := range []string{"DATABASE_URL", "DB_USER", "DB_PASSWORD"} {
		if e := env[name]; e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != "registry-db-restored-app" {
			t.Errorf("registryd's %s: %+v, want from the secret registry-db-restored-app", name, e.ValueFrom)
		}
	}
	if !strings.Contains(env["DATABASE_REPLICA_URLS"].Value, "@registry-db-restored-ro:") {
		t.Errorf("registryd's replicas: %s", env["DATABASE_REPLICA_URLS"].Value)
	}
	migrates := false
	for _, e := range job.Spec.Template.Spec.Containers[0].Env {
		migrates = migrates || (e.Name == "DATABASE_URL" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == "registry-db-restored-app")
	}
	if !migrates {
		t.Errorf("the migrations connect with %+v", job.Spec.Template.Spec.Containers[0].Env)
	}
	var reaches bool
	for _, rule := range policy.Spec.Egress {
		for _, to := range rule.To {
			reaches = reaches || (to.PodSelector != nil && to.PodSelector.MatchLabels["cnpg.io/cluster"] == "registry-db-restored")
		}
	}
	if !reaches {
		t.Error("the network policy does not let registryd reach registry-db-restored")
	}
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

// TestAlertRules reads the Prometheus rule file strictly (an unknown or
// misspelt field is an error), parses every expression with Prometheus' own
// PromQL parser, and checks that the backup alerts the operators rely on
// are there, each naming only metrics that something exposes.
func TestAlertRules(t *testing.T) {
	body, err := os.ReadFile("../prometheus/registry-alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.UnmarshalStrict(body, &file); err != nil {
		t.Fatal(err)
	}
	// What registryd (internal/postgres/backups.go) and the Barman Cloud
	// plugin expose.
	known := regexp.MustCompile(`^(registry_(backup|wal)_[a-z_]+|barman_cloud_cloudnative_pg_io_[a-z_]+)$`)
	alerts := map[string][]string{}
	promql := promparser.NewParser(promparser.Options{})
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			expr, err := promql.ParseExpr(r.Expr)
			if err != nil {
				t.Errorf("%s: %v", r.Alert, err)
				continue
			}
			if _, err := model.ParseDuration(r.For); err != nil {
				t.Errorf("%s: for %q: %v", r.Alert, r.For, err)
			}
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("%s: no severity or summary", r.Alert)
			}
			for _, sel := range promparser.ExtractSelectors(expr) {
				for _, m := range sel {
					if m.Name == "__name__" && !known.MatchString(m.Value) {
						t.Errorf("%s: names %s, which nothing exposes", r.Alert, m.Value)
					}
				}
			}
			alerts[r.Alert] = append(alerts[r.Alert], expr.String())
		}
	}
	for alert, want := range map[string]string{
		"RegistryBackupTooOld":        "26 * 3600",
		"RegistryWALArchiveTooOld":    "5 * 60",
		"RegistryWALArchivingFailing": "registry_wal_archive_failures_total",
		"RegistryNoBackup":            "registry_backup_last_completed_timestamp_seconds",
	} {
		if !slices.ContainsFunc(alerts[alert], func(e string) bool { return strings.Contains(e, want) }) {
			t.Errorf("no alert %s on %s: %v", alert, want, alerts[alert])
		}
	}
	// On Kubernetes the backups are the plugin's.
	if !slices.ContainsFunc(alerts["RegistryBackupTooOld"], func(e string) bool {
		return strings.Contains(e, "barman_cloud_cloudnative_pg_io_last_available_backup_timestamp")
	}) {
		t.Error("no backup-age alert on the Barman Cloud plugin's metric")
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
