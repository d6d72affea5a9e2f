import { create, createFileRegistry, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
const set = fromBinary(FileDescriptorSetSchema, Deno.readFileSync("/tmp/probe/svc.binpb"));
const reg = createFileRegistry(set);
const Req = reg.getMessage("demo.v1.Req")!;
console.log([...reg.files].map(f => f.name), reg.getService("demo.v1.Demo")?.methods.map(m => [m.name, m.methodKind, m.localName]));
const m = create(Req, { text: "hi", stamp: { at: { seconds: 5n } }, n: 3n });
console.log(m, Object.getPrototypeOf(m) === Object.prototype, structuredClone(m));
for (const bad of [{ text: 5 }, { n: 5 }, { n: "x" }, { stamp: { at: { seconds: "x" } } }, { stamp: 5 }, { bogus: 1 }, {text: null}]) {
  try { const b = toBinary(Req, create(Req, bad as any)); console.log("ok", JSON.stringify(bad), b.length); } catch (e) { console.log("err", JSON.stringify(bad, (_,v)=>v), String(e)); }
}
