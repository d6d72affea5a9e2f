import assert from "node:assert/strict";
import {
  CommandReader,
  encodeCommand,
  goCommand,
  readCommands,
  type SupervisorCommand,
} from "./stdin_commands.ts";
import { EXIT } from "./exit_codes.ts";

/** A stream of the given chunks (a command may be split across them). */
function chunks(...parts: (Uint8Array | string)[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(
    parts.map((p) => typeof p === "string" ? new TextEncoder().encode(p) : p),
  );
}

Deno.test("readCommands() reads what encodeCommand() writes, split anywhere", async () => {
  const sent: SupervisorCommand[] = ["drain", "exit"];
  const bytes = new Uint8Array(
    sent.flatMap((c) => [...encodeCommand(c)]),
  );
  const stops: string[] = [];
  const exits: number[] = [];
  await readCommands(
    (why) => stops.push(why),
    chunks(bytes.slice(0, 3), bytes.slice(3, 7), bytes.slice(7)),
    (code) => exits.push(code),
  );
  assert.deepEqual(stops, ["drain", "supervisor gone"]);
  assert.deepEqual(exits, [EXIT.failure]);
});

Deno.test("readCommands() ignores unknown lines and drains when the input ends", async () => {
  const stops: string[] = [];
  const exits: number[] = [];
  await readCommands(
    (why) => stops.push(why),
    chunks("hello\n", " drain \n", "exi"),
    (code) => exits.push(code),
  );
  assert.deepEqual(stops, ["drain", "supervisor gone"]);
  assert.deepEqual(exits, []);
});

Deno.test("CommandReader: go carries any token; stops after it wait for onStop()", async () => {
  const token = "a token with spaces, 100% odd\tchars";
  const exits: number[] = [];
  const reader = new CommandReader(
    chunks(encodeCommand(goCommand(token)), "drain\n"),
    (code) => exits.push(code),
  );
  assert.equal(await reader.go, token);
  const stops: string[] = [];
  await new Promise((r) => setTimeout(r, 10));
  reader.onStop((why) => stops.push(why));
  assert.deepEqual(stops, ["drain", "supervisor gone"]);
  assert.deepEqual(exits, []);
});

Deno.test("CommandReader: drain or the end of the input before go is no go", async () => {
  assert.equal(await new CommandReader(chunks("drain\ngo x\n")).go, null);
  assert.equal(await new CommandReader(chunks("go")).go, null);
});
