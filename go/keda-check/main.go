// Command keda-check runs KEDA's own prometheus scaler and fallback, built from KEDA's Go module,
// on a ScaledObject as the Helm chart renders it (read as JSON from the file named by -scaledobject),
// and answers one poll per line read on stdin. A line holds the Deployment's current replica count;
// the answer is one JSON line: the metric KEDA hands the HPA, whether the trigger is active,
// whether the fallback answered, the scaler's error, and the replica count that follows.
//
// The Kubernetes API that KEDA's fallback reads (the ScaledObject's health, the Deployment's
// replicas) is controller-runtime's in-memory client: what it needs from a cluster is those two
// objects, not a scheduler.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"github.com/kedacore/keda/v2/pkg/fallback"
	"github.com/kedacore/keda/v2/pkg/scalers"
	"github.com/kedacore/keda/v2/pkg/scalers/scalersconfig"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// The HPA leaves the replicas alone while the metric is within this share of its target
// (kube-controller-manager's --horizontal-pod-autoscaler-tolerance default).
const tolerance = 0.1

type answer struct {
	Metric   *float64 `json:"metric,omitempty"`
	Active   bool     `json:"active"`
	Fallback bool     `json:"fallback"`
	Error    string   `json:"error,omitempty"`
	Replicas int32    `json:"replicas"`
}

func main() {
	file := flag.String("scaledobject", "", "a ScaledObject as JSON, as the chart renders it")
	flag.Parse()
	if *file == "" {
		fmt.Fprintln(os.Stderr, "keda-check: -scaledobject FILE is required: the ScaledObject the chart renders, as JSON")
		os.Exit(2)
	}
	if err := run(*file); err != nil {
		fmt.Fprintf(os.Stderr, "keda-check: %v\n", err)
		os.Exit(1)
	}
}

func run(file string) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	so := &v1alpha1.ScaledObject{}
	if err := json.Unmarshal(raw, so); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if len(so.Spec.Triggers) != 1 || so.Spec.Triggers[0].Type != "prometheus" {
		return fmt.Errorf("%s: expected one prometheus trigger", file)
	}
	if err := v1alpha1.CheckFallbackValid(so); err != nil {
		return fmt.Errorf("%s: KEDA refuses its fallback: %w", file, err)
	}
	trigger := so.Spec.Triggers[0]
	ctx := context.Background()
	scaler, err := scalers.NewPrometheusScaler(&scalersconfig.ScalerConfig{
		ScalableObjectName:      so.Name,
		ScalableObjectNamespace: so.Namespace,
		ScalableObjectType:      "ScaledObject",
		GlobalHTTPTimeout:       3 * time.Second,
		TriggerType:             trigger.Type,
		TriggerMetadata:         trigger.Metadata,
		MetricType:              trigger.MetricType,
		AuthParams:              map[string]string{},
	})
	if err != nil {
		return fmt.Errorf("KEDA refuses the trigger's metadata: %w", err)
	}
	spec := scaler.GetMetricSpecForScaling(ctx)[0]
	metricName := spec.External.Metric.Name
	target := spec.External.Target.AverageValue.AsApproximateFloat64()

	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	if err := appsv1.AddToScheme(scheme); err != nil {
		return err
	}
	so.Status.ScaleTargetGVKR = &v1alpha1.GroupVersionKindResource{Group: "apps", Version: "v1", Kind: "Deployment", Resource: "deployments"}
	deployment := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: so.Spec.ScaleTargetRef.Name, Namespace: so.Namespace}}
	kube := fake.NewClientBuilder().WithScheme(scheme).WithObjects(so.DeepCopy(), deployment).WithStatusSubresource(&v1alpha1.ScaledObject{}).Build()
	handler := fallback.ScaledObjectHandler{Ctx: ctx, KubeClient: kube, UpdateLock: &sync.RWMutex{}, ScaledObject: so}

	minReplicas, maxReplicas := int32(1), int32(100)
	if so.Spec.MinReplicaCount != nil {
		minReplicas = *so.Spec.MinReplicaCount
	}
	if so.Spec.MaxReplicaCount != nil {
		maxReplicas = *so.Spec.MaxReplicaCount
	}

	lines := bufio.NewScanner(os.Stdin)
	out := json.NewEncoder(os.Stdout)
	for lines.Scan() {
		current64, err := strconv.ParseInt(strings.TrimSpace(lines.Text()), 10, 32)
		if err != nil {
			return fmt.Errorf("stdin: %q is not a replica count", lines.Text())
		}
		current := int32(current64)
		deployment.Spec.Replicas = &current
		if err := kube.Update(ctx, deployment); err != nil {
			return err
		}
		metrics, active, scalerErr := scaler.GetMetricsAndActivity(ctx, metricName)
		metrics, fellBack, err := fallback.GetMetricsWithFallback(handler, metrics, scalerErr, metricName, spec)
		a := answer{Active: active, Fallback: fellBack}
		if scalerErr != nil {
			a.Error = scalerErr.Error()
		}
		if err != nil {
			// No metric for the HPA: it keeps the replicas it has.
			a.Replicas = current
		} else {
			value := metrics[0].Value.AsApproximateFloat64()
			a.Metric = &value
			a.Replicas = desired(value, target, current, minReplicas, maxReplicas)
			if minReplicas == 0 && !active && !fellBack {
				// KEDA deactivates an inactive trigger to zero (after cooldownPeriod, not waited for here).
				a.Replicas = 0
			}
		}
		if err := out.Encode(a); err != nil {
			return err
		}
	}
	return lines.Err()
}

// desired is the HPA's count for an AverageValue external metric: ceil(metric / target), unless
// within the tolerance of the current count, bounded by the ScaledObject's minimum (at least one
// once active) and maximum.
func desired(metric, target float64, current, minReplicas, maxReplicas int32) int32 {
	want := int32(math.Ceil(metric / target))
	if current > 0 && math.Abs(metric/(target*float64(current))-1) <= tolerance {
		want = current
	}
	if want < minReplicas {
		want = minReplicas
	}
	if want < 1 {
		want = 1
	}
	if want > maxReplicas {
		want = maxReplicas
	}
	return want
}
