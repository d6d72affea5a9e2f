/**
 * How a supervised serving process tells the supervisor that it serves: it
 * may write only inside its scratch root, so it writes its control API's
 * port and the HTTP port it bound to a file there (`--control-report`); the
 * supervisor polls for it and writes the user-visible state file.
 *
 * @module
 */

/** What the serving process reports once it serves. */
export interface ControlReport {
  /** The control API's port. */
  port: number;
  /** The HTTP port actually bound (`--port 0` picks one). */
  httpPort: number;
  /**
   * The gRPC port the gRPC process bound (`--grpc-port 0` picks one), so a
   * restarted gRPC process comes back on it; the configured port without one.
   */
  grpcPort: number;
}

/** Writes the report (serving process side). */
export async function writeControlReport(
  path: string,
  report: ControlReport,
): Promise<void> {
  // Written whole, then renamed: the supervisor never reads half of it.
  await Deno.writeTextFile(`${path}.tmp`, JSON.stringify(report));
  await Deno.rename(`${path}.tmp`, path);
}

function isPort(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 &&
    (value as number) <= 65535;
}

/**
 * Reads the report (supervisor side): null while it is not there yet or
 * is not a report (a field that is not a TCP port number); throws on
 * anything else (e.g. no permission).
 */
export async function readControlReport(
  path: string,
): Promise<ControlReport | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  try {
    const { port, httpPort, grpcPort } = JSON.parse(text);
    // The supervisor puts these in the gRPC process's --allow-net and its
    // bind address, and the state file's URL: TCP ports only.
    if (isPort(port) && isPort(httpPort) && isPort(grpcPort)) {
      return { port, httpPort, grpcPort };
    }
  } catch {
    // Not JSON (yet): as if absent.
  }
  return null;
}
