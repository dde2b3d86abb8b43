import { extendZodWithOpenApi } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";

// Done once, here, so every schema module gets `.openapi()` by importing `z` from this file.
extendZodWithOpenApi(z);

export { z };
