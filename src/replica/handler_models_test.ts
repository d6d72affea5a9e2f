import assert from "node:assert/strict";
import { pollModels } from "./handler_models.ts";

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("pollModels(): one poll at a time, and none after stop()", async () => {
  let running = 0;
  let most = 0;
  let polls = 0;
  const store = {
    poll: async () => {
      polls++;
      most = Math.max(most, ++running);
      await tick(15); // longer than the interval
      running--;
    },
  };
  const stop = pollModels(store, 2, () => {});
  while (polls < 3) await tick(5);
  stop();
  await tick(20); // a poll in progress ends; none is scheduled after it
  const after = polls;
  await tick(30);
  assert.equal(most, 1);
  assert.equal(polls, after, "polled after stop()");
});

Deno.test("pollModels(): a failed poll is reported and polling goes on", async () => {
  const errors: string[] = [];
  let polls = 0;
  const stop = pollModels(
    {
      poll: () => {
        polls++;
        return Promise.reject(new Error("disk gone"));
      },
    },
    1,
    (message, error) => errors.push(`${message}: ${(error as Error).message}`),
  );
  while (polls < 2) await tick(2);
  stop();
  assert.equal(errors[0], "Cannot look for model changes: disk gone");
});
