package deploy_test

import (
	"context"
	"path/filepath"
	"runtime"
	"sort"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
)

// docker-compose.yml loads with the compose-spec loader (what
// `docker compose config` runs) and has the production-like services.
func TestComposeFileIsValid(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "docker-compose.yml")
	opts, err := cli.NewProjectOptions([]string{path}, cli.WithName("nurture"), cli.WithWorkingDirectory(filepath.Dir(path)))
	if err != nil {
		t.Fatal(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	var names []string
	for name := range project.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, want := range []string{"api", "postgres", "temporal", "temporal-db", "temporal-ui", "worker"} {
		if _, ok := project.Services[want]; !ok {
			t.Errorf("service %q missing (have %v)", want, names)
		}
	}
	if api := project.Services["api"]; api.Environment["TEMPORAL_ADDRESS"] == nil || *api.Environment["TEMPORAL_ADDRESS"] != "temporal:7233" {
		t.Errorf("api does not point at the temporal service: %v", api.Environment)
	}
}
