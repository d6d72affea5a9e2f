/**
 * `networking.cors`, `auth` and `rate_limit` in exported manifests. Neither
 * Kubernetes nor Knative Serving has a field for any of them, and the runtime
 * in each container enforces them anyway (it reads cortex.yaml): the
 * manifests record them as annotations, give the container what it needs
 * (the keys of `keys_env` from a Secret; `keys_file` is embedded in the
 * image), and say what differs in a cluster, as YAML comments and warnings.
 *
 * @module
 */
import type { ApiConfig } from "../config/resolved_config.ts";

/** Annotation prefix of the recorded settings. */
const PREFIX = "cortex.dev";

/** The Secret that holds an API's `keys_env` keys (not generated). */
export function keysSecretName(api: ApiConfig): string {
  return `api-${api.name}-keys`;
}

/**
 * The container variable of `keys_env`, read from the API's keys Secret, so
 * that the keys never appear in a manifest.
 */
export function keysEnv(api: ApiConfig): Record<string, unknown>[] {
  const name = api.networking.auth?.keysEnv;
  if (!name) return [];
  return [{
    name,
    valueFrom: { secretKeyRef: { name: keysSecretName(api), key: name } },
  }];
}

/** The API's edge settings as annotations (none for settings left unset). */
export function edgeAnnotations(api: ApiConfig): Record<string, string> {
  const { cors, auth, rateLimit } = api.networking;
  const out: Record<string, string> = {};
  if (cors === false) out[`${PREFIX}/cors`] = "off";
  else if (cors !== undefined) {
    out[`${PREFIX}/cors`] = [
      `allow_origins=${cors.allowOrigins.join(",")}`,
      `allow_credentials=${cors.allowCredentials}`,
      `max_age=${cors.maxAge}`,
    ].join("; ");
  }
  if (auth !== undefined) {
    out[`${PREFIX}/auth`] = [
      auth.keysEnv ? `keys_env=${auth.keysEnv}` : null,
      auth.keysFile ? `keys_file=${auth.keysFile}` : null,
      `methods=${auth.methods?.join(",") ?? "all"}`,
    ].filter((p) => p !== null).join("; ");
  }
  if (rateLimit !== undefined) {
    out[`${PREFIX}/rate-limit`] =
      `rps=${rateLimit.rps}; burst=${rateLimit.burst}; per=${rateLimit.per}`;
  }
  return out;
}

/**
 * What a reader of the manifests must know about the API's edge settings in
 * a cluster: one sentence per setting that is set, naming what has no
 * equivalent and what to do.
 */
export function edgeNotes(
  api: ApiConfig,
  platform: "kubernetes" | "knative",
): string[] {
  const { cors, auth, rateLimit } = api.networking;
  const where = platform === "knative" ? "Knative Serving" : "Kubernetes";
  const notes: string[] = [];
  if (cors !== undefined) {
    notes.push(
      `networking.cors has no ${where} equivalent: the runtime in each pod answers preflights and sets the CORS headers; an ingress or gateway in front must pass OPTIONS and Origin through unchanged`,
    );
  }
  if (auth !== undefined) {
    const secret = keysSecretName(api);
    notes.push(
      `networking.auth has no ${where} equivalent: the runtime in each pod checks the keys` +
        (auth.keysEnv
          ? `; it reads ${auth.keysEnv} from the Secret ${secret}, which is not generated: kubectl create secret generic ${secret} --from-literal=${auth.keysEnv}=<key1,key2>`
          : "") +
        (auth.keysFile
          ? `; keys_file ${auth.keysFile} is embedded in the image (SHA-256 hashes only): rebuild the image to change the keys`
          : ""),
    );
  }
  if (rateLimit !== undefined) {
    const pods = api.autoscaling.maxReplicas;
    notes.push(
      `networking.rate_limit has no ${where} equivalent and is enforced per pod, not shared: n pods admit up to n x ${rateLimit.rps} requests/s (${
        pods * rateLimit.rps
      }/s at max_replicas ${pods}); put a shared limit in the ingress or gateway for one budget`,
    );
  }
  return notes;
}
