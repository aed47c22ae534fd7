// The one place a mode is chosen: every other question about a mode goes to its object.
import { Settings } from "../lib/settings";
import { cvmMode } from "./cvm";
import { existingMode } from "./existing";
import { localMode } from "./local";
import { Mode, StackNames } from "./mode";

export type { Mode, Placement, StackNames } from "./mode";

export function modeOf(settings: Settings, names: StackNames): Mode {
  switch (settings.mode) {
    case "cvm":
      return cvmMode(settings, names);
    case "local":
      return localMode(settings, names);
    case "existing":
      return existingMode(settings, names);
    default: {
      const never: never = settings;
      throw new Error(`unknown mode ${JSON.stringify(never)}`);
    }
  }
}
