import { describe, expect, it } from "vitest";
import { StatementNames } from "./prepared";

describe("StatementNames", () => {
  it("names a text the second time it is seen, and keeps its name", () => {
    const names = new StatementNames();
    expect(names.nameFor("select $1")).toBeUndefined();
    expect(names.nameFor("select $1")).toBe("p1");
    expect(names.nameFor("select $1")).toBe("p1");
    expect(names.nameFor("select $1, $2")).toBeUndefined();
    expect(names.nameFor("select $1, $2")).toBe("p2");
    expect(names.nameFor("select $1")).toBe("p1");
  });

  it("stops naming at its limit; texts already named keep their names", () => {
    const names = new StatementNames({ maxNamed: 2, maxCounted: 100 });
    for (const text of ["a", "a", "b", "b", "c", "c", "c"]) names.nameFor(text);
    expect(names.size).toBe(2);
    expect(names.nameFor("c")).toBeUndefined();
    expect([names.nameFor("a"), names.nameFor("b")]).toEqual(["p1", "p2"]);
  });

  it("counts a bounded number of texts seen once: past it, a new text is never named", () => {
    const names = new StatementNames({ maxNamed: 100, maxCounted: 2 });
    for (const text of ["x", "y", "z", "z"]) names.nameFor(text);
    expect(names.nameFor("z")).toBeUndefined();
    expect(names.nameFor("x")).toBe("p1");
  });
});
