// The one Node global the example reads besides fetch and console (whose
// types come with TypeScript's DOM library): its environment and exit code.
// Declared here so that the example needs no package beyond the compiler.
declare const process: {
  env: Record<string, string | undefined>;
  exitCode?: number;
};
