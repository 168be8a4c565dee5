/** The version of qw, as `qw --version` prints it and worker records carry it. */
export const VERSION = "0.1.0";
