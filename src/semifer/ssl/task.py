"""One stage-1 training step, in the order of DESIGN.md section 2 (USB's names).

The task owns the two networks, their optimizers and schedulers; ``train_step`` returns the
numbers to log. Read it against the equations: teacher forward (step 1), pseudo-labels (2),
student step on them keeping g_u (3, eq. 1), feedback f (4, eq. 6), teacher loss and step
(5, eqs. 2-5). The teacher's graph is held across the student update: that is what sets the
step's peak memory (teacher activations for 1 + 2 * uratio batches plus the student's).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import torch
import torch.nn.functional as F

from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from semifer.runs.distributed import all_reduce_mean, broadcast_buffers, unwrap
from semifer.runs.state import Network
from semifer.ssl.config import Feedback, FeedbackView, PseudoLabel, SSLConfig
from semifer.ssl.feedback import (
    MovingBaseline,
    exact_feedback,
    frozen_batchnorm_stats,
    full_precision,
    gradient_copy,
    taylor_feedback,
    trainable,
)

Autocast = Callable[[], AbstractContextManager[object]]


class TeacherStudentTask:
    """Teacher T and student S updated alternately, every step, with the student's feedback."""

    def __init__(
        self, teacher: Network, student: Network, config: SSLConfig, autocast: Autocast, label_smoothing: float = 0.0
    ) -> None:
        self.teacher = teacher
        self.student = student
        self.config = config
        self.autocast = autocast
        self.label_smoothing = label_smoothing  # of L_s only (L_u has its own: ssl.unlabeled_label_smoothing)
        self.baseline = MovingBaseline(config.baseline_decay)
        # With ssl.teacher_ema, a moving average of the teacher (weights and BatchNorm statistics,
        # forwarded in eval mode) makes the pseudo-labels: targets that change slowly.
        self.teacher_ema = moving_average(teacher, config.teacher_ema) if config.teacher_ema else None

    def train_step(
        self, x_lb: torch.Tensor, y_lb: torch.Tensor, x_ulb_w: torch.Tensor, x_ulb_s: torch.Tensor, step: int,
        x_ulb_w2: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """One step; given ``x_ulb_w2`` (a second weak view of the unlabeled batch) it also
        measures the loop before either network moves (``_diagnose``)."""
        cfg = self.config
        n_lb, n_ulb = len(x_lb), len(x_ulb_w)

        # 1. Teacher forward on cat(x_lb, alpha(x_u), A(x_u)).
        with self.autocast():
            logits = full_precision(self.teacher.model(torch.cat((x_lb, x_ulb_w, x_ulb_s))))
        t_lb, t_ulb_w, t_ulb_s = logits.split((n_lb, n_ulb, n_ulb))

        # 2. Pseudo-labels y_hat = argmax T(alpha(x_u)) (or of its moving average); the same y_hat
        #    feeds eq. 1 and eq. 5.
        probs_w = t_ulb_w.detach().softmax(-1)
        confidence, y_hat = probs_w.max(-1)
        if self.teacher_ema is not None:
            probs_w = self._probabilities(self.teacher_ema, x_ulb_w)
            y_hat = probs_w.argmax(-1)
        pseudo_target = y_hat if cfg.pseudo_label == PseudoLabel.hard else probs_w
        diagnostics = self._diagnose(x_lb, x_ulb_w, x_ulb_w2, x_ulb_s, y_hat) if x_ulb_w2 is not None else {}

        # 3-4. Student step on the pseudo-labels, then the feedback coefficient f.
        student_on = step >= cfg.student_wait_steps
        if student_on:
            f, student_logs = self._student_step(x_lb, y_lb, x_ulb_s, pseudo_target)
        else:
            f, student_logs = torch.zeros((), device=logits.device), {}
        f_used = self.baseline(f) if student_on and cfg.feedback != Feedback.none else torch.zeros_like(f)

        # 5. Teacher loss L_T = L_s + lambda_c * L_c + f * L_f, then the teacher step.
        loss_s = F.cross_entropy(t_lb, y_lb, label_smoothing=self.label_smoothing)  # eq. 3
        soft_w = (t_ulb_w.detach() / cfg.temperature).softmax(-1)
        mask = (confidence >= cfg.p_cutoff).float()
        loss_c = (F.cross_entropy(t_ulb_s, soft_w, reduction="none") * mask).mean()  # eq. 4
        lambda_c = cfg.lambda_c * min(1.0, (step + 1) / cfg.lambda_c_warmup) if cfg.lambda_c_warmup else cfg.lambda_c
        if cfg.feedback_view == FeedbackView.weak:
            ce_f = F.cross_entropy(t_ulb_w, pseudo_target)  # eq. 5: the label the student learned
        else:
            ce_f = F.cross_entropy(t_ulb_s, t_ulb_s.detach().argmax(-1))  # public MPL code's variant
        loss_f = f_used * ce_f
        loss_t = loss_s + lambda_c * loss_c + loss_f
        teacher_lr = self.teacher.lr
        self.teacher.step(loss_t)
        if self.teacher_ema is not None:
            teacher = unwrap(self.teacher.model)
            broadcast_buffers(teacher)  # every rank averages the same BatchNorm statistics
            self.teacher_ema.model.update_parameters(teacher)

        return {
            "loss/teacher": loss_t.detach(),
            "loss/supervised": loss_s.detach(),
            "loss/consistency": loss_c.detach(),
            "loss/feedback": loss_f.detach(),
            "feedback/f": f,
            "feedback/f_used": f_used.detach(),
            "pseudo/confidence": confidence.mean(),
            "pseudo/mask_rate": mask.mean(),
            "lambda_c": torch.tensor(lambda_c),
            "lr/teacher": torch.tensor(teacher_lr),
            "pseudo_labels": y_hat,
            **student_logs,
            **diagnostics,
        }

    @torch.no_grad()
    def _diagnose(
        self, x_lb: torch.Tensor, x_ulb_w: torch.Tensor, x_ulb_w2: torch.Tensor, x_ulb_s: torch.Tensor, y_hat: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Are the targets stable, and does the student fit them? Both networks forward as in
        training (batch statistics, running ones untouched): the teacher (or its moving average)
        on the batch with its second weak view in place of the first, the student on the weak view."""
        teacher, student = unwrap(self.teacher.model), unwrap(self.student.model)
        n_lb, n_ulb = len(x_lb), len(x_ulb_w)
        with frozen_batchnorm_stats(teacher), frozen_batchnorm_stats(student), self.autocast():
            if self.teacher_ema is None:
                again = teacher(torch.cat((x_lb, x_ulb_w2, x_ulb_s)))[n_lb : n_lb + n_ulb].argmax(-1)
            else:
                again = self._probabilities(self.teacher_ema, x_ulb_w2).argmax(-1)
            student_input = torch.cat((x_lb, x_ulb_w)) if self.config.student_forward_labeled else x_ulb_w
            answers = student(student_input)[-n_ulb:].argmax(-1)
        return {
            "loop/teacher_self_agreement": (again == y_hat).float().mean(),
            "loop/student_agreement": (answers == y_hat).float().mean(),
        }

    @torch.no_grad()
    def _probabilities(self, network: Network, images: torch.Tensor) -> torch.Tensor:
        with self.autocast():
            return full_precision(network.model(images)).softmax(-1)

    def _student_step(
        self, x_lb: torch.Tensor, y_lb: torch.Tensor, x_ulb_s: torch.Tensor, pseudo_target: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """theta -> theta' on L_u = CE(y_hat, S(A(x_u))) (eq. 1), then f (eq. 6) at theta'.

        With ``student_forward_labeled`` the labeled batch goes through the student with the
        strong views (the references'), for BatchNorm only: L_u is on the unlabeled part.
        """
        mode = self.config.feedback
        plain = unwrap(self.student.model)  # labeled forwards: no DDP sync, BN running stats frozen
        lr = self.student.lr
        logs: dict[str, torch.Tensor] = {"lr/student": torch.tensor(lr)}
        if mode == Feedback.taylor:
            with torch.no_grad(), frozen_batchnorm_stats(plain), self.autocast():
                loss_old = F.cross_entropy(full_precision(plain(x_lb)), y_lb)

        with self.autocast():
            if self.config.student_forward_labeled:  # BatchNorm normalises labeled and strong views together
                logits_u = full_precision(self.student.model(torch.cat((x_lb, x_ulb_s))))[len(x_lb) :]
            else:
                logits_u = full_precision(self.student.model(x_ulb_s))
            loss_u = F.cross_entropy(logits_u, pseudo_target, label_smoothing=self.config.unlabeled_label_smoothing)
        params = trainable(plain)
        optimizer = self.student.optimizer
        optimizer.zero_grad(set_to_none=True)
        loss_u.backward()
        g_u = gradient_copy(params) if mode == Feedback.exact else []
        optimizer.step()
        self.student.scheduler.step()
        optimizer.zero_grad(set_to_none=True)  # g_u lives on in its copy: one gradient, not two
        logs["loss/unlabeled"] = loss_u.detach()

        if mode == Feedback.exact:
            with frozen_batchnorm_stats(plain), self.autocast():
                f, loss_new = exact_feedback(plain, x_lb, y_lb, g_u, lr)
        elif mode == Feedback.taylor:
            with torch.no_grad(), frozen_batchnorm_stats(plain), self.autocast():
                loss_new = F.cross_entropy(full_precision(plain(x_lb)), y_lb)
            f = taylor_feedback(loss_old, loss_new)
        else:
            return torch.zeros((), device=x_lb.device), logs
        logs["loss/student_labeled"] = loss_new
        return all_reduce_mean(f), logs


def moving_average(network: Network, decay: float) -> Network:
    """An exponential moving average of ``network``'s weights and buffers, in eval mode (torch's
    ``AveragedModel``); checkpointed like the others, without an optimizer."""
    average = AveragedModel(unwrap(network.model), multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
    return Network(average.eval())


class SupervisedTask:
    """One network trained on the labeled data alone: the ablation baseline, and the fine-tune phase."""

    def __init__(
        self, network: Network, autocast: Autocast, label_smoothing: float = 0.0, loss_key: str = "loss/supervised"
    ) -> None:
        self.student = network
        self.autocast = autocast
        self.label_smoothing = label_smoothing
        self.loss_key = loss_key  # "loss/finetune" in the fine-tune phase
    def train_step(self, x_lb: torch.Tensor, y_lb: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        with self.autocast():
            loss = F.cross_entropy(full_precision(self.student.model(x_lb)), y_lb, label_smoothing=self.label_smoothing)
        lr = self.student.lr
        self.student.step(loss)
        return {self.loss_key: loss.detach(), "lr/student": torch.tensor(lr)}
