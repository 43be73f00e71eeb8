// Package temporalx dials Temporal with the SDK's environment configuration
// (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*,
// profiles in temporal.toml), logs through zap and can export SDK metrics
// to Prometheus.
package temporalx

import (
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/contrib/opentelemetry"
	tlog "go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"
)

// Options builds client options from the environment (default
// localhost:7233, namespace "default") with zap as the SDK's logger.
func Options(log *zap.Logger) (client.Options, error) {
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return opts, fmt.Errorf("temporal config: %w", err)
	}
	opts.Logger = tlog.NewStructuredLogger(slog.New(zapslog.NewHandler(log.Named("temporal").Core())))
	return opts, nil
}

// WithPrometheus sends SDK metrics (workflow/activity task latencies,
// poll counts, failures...) to reg.
func WithPrometheus(opts client.Options, reg *prometheus.Registry) (client.Options, error) {
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return opts, fmt.Errorf("prometheus exporter: %w", err)
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	opts.MetricsHandler = opentelemetry.NewMetricsHandler(opentelemetry.MetricsHandlerOptions{
		Meter: provider.Meter("temporal-sdk-go"),
	})
	return opts, nil
}

// Dial connects a client.
func Dial(opts client.Options) (client.Client, error) {
	c, err := client.Dial(opts)
	if err != nil {
		return nil, fmt.Errorf("dial temporal at %s: %w", opts.HostPort, err)
	}
	return c, nil
}
