// Baseline for bench/auth-hook: the same framework answering 204 with no work at all.
import Koa from "koa";

const app = new Koa();
app.use((ctx) => {
  ctx.status = 204;
});
app.listen(Number(process.env.PORT), "127.0.0.1");
