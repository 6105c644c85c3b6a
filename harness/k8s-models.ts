import assert from 'node:assert/strict';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';

export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
};

/** Schema validators by apiVersion/kind; validate() throws naming the field that is wrong. */
const MODELS: Record<string, (m: Manifest) => { validate(): void }> = {
  'apps/v1/Deployment': (m) => new Deployment(m as never),
  'v1/Service': (m) => new Service(m as never),
  'v1/ConfigMap': (m) => new ConfigMap(m as never),
  'monitoring.coreos.com/v1/ServiceMonitor': (m) => new ServiceMonitor(m as never),
  'monitoring.coreos.com/v1/PodMonitor': (m) => new PodMonitor(m as never),
  'monitoring.coreos.com/v1/PrometheusRule': (m) => new PrometheusRule(m as never),
  'keda.sh/v1alpha1/ScaledObject': (m) => new ScaledObject(m as never),
  'autoscaling/v2/HorizontalPodAutoscaler': (m) => new HorizontalPodAutoscaler(m as never),
};

export function validate(m: Manifest, where: string): void {
  const model = MODELS[`${m.apiVersion}/${m.kind}`];
  assert.ok(model, `${where}: no schema for ${m.apiVersion} ${m.kind}`);
  try {
    model(m).validate();
  } catch (err) {
    assert.fail(`${where} ${m.kind}/${m.metadata.name}: ${(err as Error).message}`);
  }
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  restartPolicy?: string;
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  startupProbe?: { httpGet?: { path: string; port: string; scheme?: string } };
  livenessProbe?: { httpGet?: { path: string; port: string; scheme?: string } };
  readinessProbe?: { httpGet?: { path: string; port: string; scheme?: string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}

export interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: {
    securityContext?: { runAsNonRoot?: boolean };
    initContainers?: Container[];
    containers: Container[];
    volumes?: Array<{ name: string; secret?: { secretName: string } }>;
  };
}

export function podOf(manifests: Manifest[]): PodTemplate {
  const deployment = manifests.find((m) => m.kind === 'Deployment') as (Manifest & { spec: { template: PodTemplate } }) | undefined;
  assert.ok(deployment, 'a Deployment');
  return deployment.spec.template;
}

/** The exporter's container, an init container in the native sidecar form. */
export function exporterOf(pod: PodTemplate): Container {
  const exporter = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c) => c.name === 'nats-queue-exporter');
  assert.ok(exporter, 'a container named nats-queue-exporter');
  return exporter;
}

/** Plain values of a container's environment; a value from a Secret becomes `secret:NAME/KEY`. */
export function envOf(c: Container): Record<string, string> {
  return Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? `secret:${e.valueFrom?.secretKeyRef?.name}/${e.valueFrom?.secretKeyRef?.key}`]));
}
