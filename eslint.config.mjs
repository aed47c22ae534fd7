// ESLint's and typescript-eslint's recommended rules over every TypeScript and JavaScript file the repo owns.
// Formatting is prettier's (.prettierrc.json); these rules are about meaning, not layout.
import eslint from "@eslint/js";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig(
  {
    // Build output, the e2e engine's Go trees, recorded provider schemas.
    ignores: ["bin/", "e2e/engine/providers/", "e2e/engine/cli/", "e2e/standins/", "test/fixtures/"],
  },
  eslint.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // `_`-prefixed parameters and destructured leftovers are unused on purpose.
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ["**/*.js", "**/*.cjs"],
    // Node scripts (jest.config.js, the e2e schema check): CommonJS, with Node's globals.
    languageOptions: {
      sourceType: "commonjs",
      globals: {
        module: "writable",
        require: "readonly",
        __dirname: "readonly",
        process: "readonly",
        console: "readonly",
        Buffer: "readonly",
        // The PD client gateway (gateway/pd-client-gateway.js) parses PD's URLs with the global.
        URL: "readonly",
      },
    },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
